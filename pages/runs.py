"""Runs page: every stored training with its settings and results, several
runs' curves overlaid, and the evaluation of one run: confusion matrix (click
a cell to see those validation images), accuracy per letter, download as
``.keras`` and export to TFLite.

Everything shown comes from the run folders (``core.store``); only the TFLite
export loads TensorFlow. Deleting a run affects everyone, so it needs the
instructor token when one is configured.

Deliberately not here: training or any array maths (``core``).
"""

import time

import streamlit as st

from core import access, evaluate, store
from core.jobs import JobRejected
from core.labels import LETTERS
from ui import data_ui, train_ui

MAX_CELL_IMAGES = 40
TFLITE_CHECK_ROWS = 256

st.title("📚 Runs")
st.write(
    "Every training stored on this server, from the dashboard or the command line. "
    "Compare their curves, look inside one run's mistakes, and take its model away."
)

runs, problems = store.list_runs()
for problem in problems:
    st.warning(train_ui.safe_text(problem))
if not runs:
    st.info(
        "No training is stored yet: train one on the **Training** page, or fill "
        "the store from the command line with `python -m core.train`."
    )
    st.stop()

me = train_ui.session_owner()
instructor = train_ui.instructor_controls("runs")
manager = train_ui.job_manager()

# --- the table -------------------------------------------------------------------


def label(info: store.RunInfo) -> str:
    c = info.config
    accuracy = info.best_val_accuracy
    shown = f"{accuracy:.1%}" if accuracy is not None else "–"
    return (
        f"{info.run_id} · {info.status} · {c.optimizer} {c.learning_rate:g} "
        f"{c.schedule} · aug {'on' if c.augment else 'off'} · {shown}"
    )


st.dataframe(
    [
        {
            "run": r.run_id,
            "state": f"{train_ui.STATE_ICONS.get(r.status, '')} {r.status}",
            "epochs": f"{r.epochs_done}/{r.epochs_total}",
            "best val acc": r.best_val_accuracy,
            "final val acc": r.final_val_accuracy,
            "time": train_ui.format_seconds(r.seconds),
            "optimizer": f"{r.config.optimizer} {r.config.learning_rate:g}",
            "schedule": r.config.schedule,
            "augmentation": "on" if r.config.augment else "off",
            "batch": r.config.batch_size,
            "rows": r.config.train_rows or "all",
            "seed": r.config.seed,
            "data": r.data_fingerprint[:12],
            "stored": time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created)),
        }
        for r in runs
    ],
    hide_index=True,
    width="stretch",
    column_config={
        "best val acc": st.column_config.NumberColumn(format="percent"),
        "final val acc": st.column_config.NumberColumn(format="percent"),
    },
)

resumable = [r for r in runs if r.resumable]
if resumable:
    with st.expander(f"Interrupted trainings ({len(resumable)})"):
        for info in resumable:
            cols = st.columns([3, 1])
            cols[0].write(
                f"`{info.run_id}`: {info.status} after epoch "
                f"{info.epochs_done} of {info.epochs_total}"
            )
            if cols[1].button("Resume", key=f"runs_resume_{info.run_id}"):
                try:
                    manager.resume(info.run_id, me)
                    st.toast("Queued: it continues from its last finished epoch.")
                except JobRejected as error:
                    st.error(str(error))

# --- curves of several runs -------------------------------------------------------

st.subheader("Curves side by side")
by_id = {r.run_id: r for r in runs}
with_epochs = [r.run_id for r in runs if r.epochs_done]
chosen = st.multiselect(
    "Runs to overlay",
    with_epochs,
    default=with_epochs[:2],
    key="runs_overlay",
    format_func=lambda rid: label(by_id[rid]),
)
if chosen:
    series = {
        rid: (
            by_id[rid].summary.get("history")
            if by_id[rid].finished
            else store.read_progress(by_id[rid].path)[0]
        )
        for rid in chosen
    }
    st.plotly_chart(
        train_ui.overlay_figure(series, with_gap=len(chosen) <= 2),
        key="runs_overlay_chart",
    )

# --- one run in detail -------------------------------------------------------------

finished = [r for r in runs if r.finished]
st.subheader("Evaluate a run")
if not finished:
    st.info("No run has finished yet.")
    st.stop()
rid = st.selectbox(
    "Run",
    [r.run_id for r in finished],
    key="runs_pick",
    format_func=lambda r: label(by_id[r]),
)
info = by_id[rid]
try:
    matrix = evaluate.confusion(info.summary)
except store.StoreError as error:
    st.error(str(error))
    st.stop()

accuracy = evaluate.per_letter_accuracy(matrix)
a, b, c = st.columns(3)
a.metric("Validation accuracy", f"{info.summary.get('model_val_accuracy', 0):.1%}")
b.metric("Epochs", info.epochs_done)
c.metric("Training time", train_ui.format_seconds(info.seconds))
worst = evaluate.most_confused(matrix, k=3)
if worst:
    st.caption(
        "Most confused: " + ", ".join(f"{t} read as {p} ({n}×)" for t, p, n in worst)
    )

st.caption(
    "Click a cell to see the validation images of that true letter read as "
    "that predicted letter."
)
event = st.plotly_chart(
    train_ui.confusion_figure(matrix),
    key="runs_confusion",
    on_select="rerun",
    selection_mode="points",
)
cell = train_ui.selected_cell(event)
if cell is not None:
    true_class, predicted_class = cell
    try:
        predictions = store.load_predictions(info.path)
    except store.StoreError as error:
        st.error(str(error))
    else:
        rows = evaluate.cell_rows(
            predictions["true"], predictions["pred"], true_class, predicted_class
        )
        images = evaluate.validation_images(
            info.data_fingerprint, data_ui.current_dataset()
        )
        title = (
            f"True {LETTERS[true_class]}, read as {LETTERS[predicted_class]}: "
            f"{len(rows)} images"
        )
        st.markdown(f"**{title}**")
        if images is None:
            st.info(
                "The data this run was trained on is not loaded, so its images "
                "cannot be shown."
            )
        elif len(rows):
            shown = rows[:MAX_CELL_IMAGES]
            st.image(
                [images[i] for i in shown],
                width=84,
                caption=[f"row {i} · {predictions['prob'][i]:.0%}" for i in shown],
            )
            if len(rows) > MAX_CELL_IMAGES:
                st.caption(f"The first {MAX_CELL_IMAGES} of {len(rows)}.")

st.markdown("**Accuracy per letter**")
st.plotly_chart(train_ui.per_letter_figure(accuracy), key="runs_per_letter")

# --- take the model away --------------------------------------------------------------

st.subheader("Download and export")
left, right = st.columns(2)
try:
    model_path = store.verified_file(info.path)
except store.ModelIntegrityError as error:
    left.error(str(error))
else:
    left.download_button(
        "Download model (.keras)",
        model_path.read_bytes(),
        file_name=f"asl-{rid}.keras",
        key="runs_download",
        mime="application/octet-stream",
    )


@st.cache_data(max_entries=4, show_spinner="Converting to TFLite…")
def tflite_export(rid: str, model_sha: str, fingerprint: str):
    images = evaluate.validation_images(fingerprint, data_ui.current_dataset())
    if images is None:
        raise store.StoreError(
            "The validation images of this run are not loaded, "
            "so the export cannot be checked."
        )
    return evaluate.export_tflite_checked(
        store.find_run(rid).path, images[:TFLITE_CHECK_ROWS]
    )


if right.button("Export to TFLite", key="runs_tflite"):
    st.session_state["runs_tflite_for"] = rid
if st.session_state.get("runs_tflite_for") == rid:
    try:
        flatbuffer, agreement = tflite_export(
            rid, info.summary["files"][store.MODEL_FILE], info.data_fingerprint
        )
    except store.StoreError as error:
        right.error(str(error))
    else:
        right.download_button(
            "Download model (.tflite)",
            flatbuffer,
            file_name=f"asl-{rid}.tflite",
            key="runs_tflite_download",
            mime="application/octet-stream",
        )
        right.caption(
            f"The TFLite model reads the same letter as the Keras model on "
            f"{agreement:.1%} of {TFLITE_CHECK_ROWS} validation images."
        )

# --- for everyone: the default model, deletion ----------------------------------

if access.can_delete(instructor):
    with st.expander("Make this the default model"):
        st.write(
            "The classify page uses the default model when nobody picks another; "
            "this replaces it for everyone."
        )
        if st.button(f"Make run {rid} the default model", key="runs_make_default"):
            from core import paths
            from core.train import command_for, publish_default

            command = " ".join(
                ["python", "-m", "core.train", *command_for(info.config)]
            )
            try:
                card = publish_default(info.path, paths.DEFAULT_MODEL_DIR, command)
            except (store.StoreError, OSError) as error:
                st.error(f"The default model was not replaced: {error}")
            else:
                st.success(
                    f"Run {rid} is now the default model "
                    f"({card['val_accuracy']:.1%} validation accuracy)."
                )
    with st.expander("Delete this run"):
        st.write("This removes the run, its model and its curves for everyone.")
        if st.button(f"Delete run {rid}", key="runs_delete", type="secondary"):
            try:
                store.delete_run(rid)
            except store.StoreError as error:
                st.error(str(error))
            else:
                st.toast(f"Deleted run {rid}.")
                st.rerun()
else:
    st.caption(
        "Replacing the default model and deleting runs need the instructor token."
    )
