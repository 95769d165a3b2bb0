"""The dashboard's library: data, labels, augmentation, model, training, store,
jobs, images and prediction. Nothing here imports streamlit, so every piece can
be driven from a test, the command line or a page alike."""
