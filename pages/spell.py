"""Spell a word: several signs, uploaded at once or drawn one by one, read in
order as a word; unsure letters show their runner-up; reorder or remove signs."""

import streamlit as st

from core import spell
from core.images import ImageError
from ui import classify_ui

SIGNS_KEY = "spell_signs"  # [{"id", "name", "pixels" (28, 28) float32, "thumb"}]
SEEN_KEY = "spell_seen_uploads"  # upload file ids already added
NEXT_ID_KEY = "spell_next_id"
REFUSED_KEY = "spell_refused_uploads"  # file id -> the sentence saying why

st.title("🔡 Spell a word")
st.write(
    "Sign a word letter by letter: upload several images at once or draw the "
    "signs one after another. Each sign is read in order; letters the model is "
    f"unsure of (below {spell.LOW_CONFIDENCE:.0%}) show the runner-up."
)

predictor, _ = classify_ui.choose_model("spell")
if predictor is None:
    st.stop()

signs = st.session_state.setdefault(SIGNS_KEY, [])
seen = st.session_state.setdefault(SEEN_KEY, set())


def _add(prepared, name: str) -> None:
    sign_id = st.session_state.get(NEXT_ID_KEY, 0)
    st.session_state[NEXT_ID_KEY] = sign_id + 1
    signs.append(
        {
            "id": sign_id,
            "name": name,
            "pixels": prepared.pixels,
            "thumb": classify_ui.crisp(prepared.pixels, 3),
        }
    )


upload_tab, draw_tab = st.tabs(["Upload several", "Draw one by one"])
with upload_tab:
    uploads = classify_ui.upload_widget("spell", many=True) or []
    refused = st.session_state.setdefault(REFUSED_KEY, {})
    for upload in uploads:
        if upload.file_id not in seen:
            seen.add(upload.file_id)
            try:
                prepared = classify_ui.prepare(
                    upload.getvalue(), upload.name, crop=True, polarity="auto"
                )
                _add(prepared, upload.name)
            except ImageError as error:
                refused[upload.file_id] = classify_ui.error_sentence(error)
        if upload.file_id in refused:  # shown while the file stays uploaded
            st.error(refused[upload.file_id])
with draw_tab:
    drawing = classify_ui.canvas_widget("spell")
    if st.button("Add this sign", key="spell_add_drawing", disabled=drawing is None):
        try:
            prepared = classify_ui.prepare(
                drawing, "the drawing", crop=True, polarity="auto"
            )
            _add(prepared, "drawing")
            classify_ui.clear_canvas("spell")
            st.rerun()
        except ImageError as error:
            st.info(classify_ui.error_sentence(error))

intended = st.text_input(
    "The word you meant (optional)",
    key="spell_intended",
    max_chars=40,
    help="To check the reading. J and Z need motion and cannot be spelled here.",
)

if not signs:
    check = spell.check_word(intended, "")
    if not check.spellable:
        st.warning(check.message)
    st.info("Add signs by uploading images or drawing them, one letter each.")
    st.stop()

readings = spell.read_signs(predictor, [sign["pixels"] for sign in signs])
read = spell.word_of(readings)
st.subheader(f"Reads: {read}")
check = spell.check_word(intended, read)
if check.message:
    (st.success if check.spellable and read == check.intended else st.warning)(
        check.message
    )

for index, (sign, reading) in enumerate(zip(signs, readings)):
    thumb, text, up, down, drop = st.columns(
        [1, 4, 1, 1, 1], vertical_alignment="center"
    )
    with thumb:
        st.image(sign["thumb"])
    with text:
        line = f"**{index + 1}. {reading.letter}** · {reading.probability:.0%}"
        if reading.unsure:
            line += (
                f" · ⚠️ unsure, runner-up **{reading.runner_up}** "
                f"({reading.runner_up_probability:.0%})"
            )
        st.markdown(line)
        st.text(sign["name"])
    if up.button("↑", key=f"spell_up_{sign['id']}", disabled=index == 0):
        st.session_state[SIGNS_KEY] = spell.move(signs, index, -1)
        st.rerun()
    last = index == len(signs) - 1
    if down.button("↓", key=f"spell_down_{sign['id']}", disabled=last):
        st.session_state[SIGNS_KEY] = spell.move(signs, index, +1)
        st.rerun()
    if drop.button("✕", key=f"spell_remove_{sign['id']}"):
        st.session_state[SIGNS_KEY] = spell.remove(signs, index)
        st.rerun()

if st.button("Start a new word", key="spell_reset"):
    st.session_state[SIGNS_KEY] = []
    classify_ui.clear_canvas("spell")
    st.rerun()
