"""Training page: choose the settings, launch, and watch the curves grow.

Training runs in a child process of the server's one job manager, not in
this script run: moving a slider, switching pages or reloading the browser
neither stops nor restarts it, and every tab sees the same jobs. The live
part is a fragment that rereads the run folder every ~1.5 s while a job is
queued or running. A configuration already trained on the same data comes
back from the store at once, curves included.

Deliberately not here: training, file formats, array maths (``core``), and
the history of all runs (the Runs page).
"""

import dataclasses

import streamlit as st

from core import access, store
from core.config import SCHEDULES, AugmentSettings, TrainConfig, run_id
from core.jobs import JobRejected, NotAllowed
from core.train import (
    EARLY_STOP_PATIENCE,
    PLATEAU_PATIENCE,
    RECOMMENDED,
    canonical,
    with_and_without_augmentation,
)
from ui import data_ui, train_ui

AUGMENT_SETTINGS_KEY = "augment_settings"  # written by the augmentation page
WATCH_KEY = "train_watching"  # run id this session launched last
COMPARE_KEY = "train_comparing"  # (with, without) run ids of a comparison
BATCH_SIZES = (8, 16, 32, 64, 128, 256, 512, 1024)
LEARNING_RATES = (1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 1e-2)
OPTIMIZER_TEXT = {
    "adam": "Adam (adapts the step per weight; fastest here)",
    "rmsprop": "RMSprop (the course's choice)",
}
SCHEDULE_TEXT = {
    "constant": "constant: the same rate every step",
    "cosine": "cosine: glides from the rate down to 0 by the last step",
    "plateau": f"on plateau: halves the rate after {PLATEAU_PATIENCE} epochs "
    "without a better validation accuracy",
}
OUTCOME_TEXT = {
    "cached": "This configuration was already trained on this data: here is the "
    "stored result.",
    "attached": "The same training is already queued or running; you are watching it.",
    "queued": "Queued. It starts as soon as the trainings before it have finished.",
    "resumed": "Resuming the interrupted training from its last finished epoch.",
}

st.title("🏋️ Training")
st.write(
    "Train the course's convolutional network on the loaded data and watch it "
    "learn. Training runs on the server, so you can move sliders, switch pages or "
    "reload; a configuration trained before on the same data returns at once."
)

dataset = data_ui.require_dataset()
manager = train_ui.job_manager()
me = train_ui.session_owner()
instructor = train_ui.instructor_controls("train")
limits = manager.limits

# --- controls ----------------------------------------------------------------

left, middle, right = st.columns(3)
with left:
    epochs = st.number_input(
        "Epochs",
        1,
        limits.max_epochs,
        min(RECOMMENDED.epochs, limits.max_epochs),
        key="train_epochs",
        help="Passes over the training images.",
    )
    batch_size = st.select_slider(
        "Batch size",
        [b for b in BATCH_SIZES if b <= limits.max_batch_size],
        value=RECOMMENDED.batch_size,
        key="train_batch_size",
        help="Images per weight update.",
    )
    seed = st.number_input(
        "Random seed",
        0,
        2**31 - 1,
        RECOMMENDED.seed,
        key="train_seed",
        help="The same seed repeats the same training.",
    )
with middle:
    optimizer = st.radio(
        "Optimizer",
        list(OPTIMIZER_TEXT),
        key="train_optimizer",
        index=list(OPTIMIZER_TEXT).index(RECOMMENDED.optimizer),
        format_func=OPTIMIZER_TEXT.get,
    )
    learning_rate = st.select_slider(
        "Learning rate",
        LEARNING_RATES,
        value=RECOMMENDED.learning_rate,
        key="train_learning_rate",
        format_func=lambda v: f"{v:g}",
    )
    schedule = st.selectbox(
        "Learning-rate schedule",
        SCHEDULES,
        index=SCHEDULES.index(RECOMMENDED.schedule),
        key="train_schedule",
        format_func=SCHEDULE_TEXT.get,
    )
with right:
    early_stopping = st.toggle(
        "Early stopping",
        value=RECOMMENDED.early_stopping,
        key="train_early_stopping",
        help=f"Stop after {EARLY_STOP_PATIENCE} epochs without a better validation "
        "accuracy.",
    )
    restore_best = st.toggle(
        "Keep the best epoch",
        value=RECOMMENDED.restore_best,
        key="train_restore_best",
        help="Store the weights of the epoch with the best validation accuracy, "
        "not necessarily the last.",
    )
    augment = st.toggle(
        "Augmentation",
        value=RECOMMENDED.augment,
        key="train_augment",
        help="Random turns, zooms, shifts and flips of every "
        "training batch, set on the Augmentation page.",
    )
    settings = st.session_state.get(AUGMENT_SETTINGS_KEY)
    # Streamlit re-imports edited modules, so the object kept in the session
    # can be of an older AugmentSettings class: rebuild it from its fields
    # rather than silently falling back to the defaults.
    try:
        settings = AugmentSettings(**dataclasses.asdict(settings))
    except TypeError:  # nothing kept yet, or fields that no longer exist
        settings = AugmentSettings()
    if augment:
        st.caption(
            f"Rotation ±{settings.rotation:g}°, zoom {settings.zoom:g}, shifts "
            f"{settings.width_shift:g}/{settings.height_shift:g}, flips "
            f"{'H' if settings.horizontal_flip else '-'}"
            f"{'V' if settings.vertical_flip else '-'}, fill {settings.fill_mode}."
        )
    total_rows = len(dataset.train_y)
    train_rows = st.number_input(
        "Training rows (0 = all)",
        0,
        total_rows,
        0,
        step=1000,
        key="train_rows",
        help="Train on the first rows only, for a quick demonstration.",
    )

config = canonical(
    TrainConfig(
        epochs=int(epochs),
        batch_size=int(batch_size),
        optimizer=optimizer,
        learning_rate=float(learning_rate),
        schedule=schedule,
        early_stopping=early_stopping,
        restore_best=restore_best,
        augment=augment,
        augmentation=settings,
        seed=int(seed),
        train_rows=int(train_rows),
    )
)
current_id = run_id(config, dataset.fingerprint)
st.caption(
    f"Run id of these settings on this data: `{current_id}`. The defaults "
    "(Adam at 0.002, cosine, 6 epochs, best epoch kept) reached 99.8% validation "
    "accuracy on the full data; `python -m core.train` trains the same."
)


def launch(configs: list[TrainConfig]) -> list[str]:
    """Submit each config; show one sentence per outcome; return run ids."""
    ids = []
    for cfg in configs:
        try:
            result = manager.submit(cfg, dataset, me)
        except JobRejected as error:
            st.error(str(error))
            continue
        ids.append(result.job.run_id)
        st.toast(OUTCOME_TEXT[result.outcome])
    return ids


launch_col, compare_col = st.columns(2)
if launch_col.button("Train", type="primary", key="train_launch", width="stretch"):
    launched = launch([config])
    if launched:
        st.session_state[WATCH_KEY] = launched[0]
if compare_col.button(
    "Train with and without augmentation",
    key="train_compare",
    width="stretch",
    help="Trains these settings twice (or takes both from the "
    "store) and overlays the curves, to show what augmentation "
    "does against overfitting.",
):
    pair = with_and_without_augmentation(
        dataclasses.replace(config, augmentation=settings)
    )
    launched = launch(list(pair))
    if len(launched) == 2:
        st.session_state[COMPARE_KEY] = tuple(launched)


# --- one run, live -------------------------------------------------------------


def run_state(rid: str) -> tuple[store.RunInfo | None, str | None]:
    info = store.find_run(rid)
    job = manager.get(rid)
    if job is not None and job.active:
        return info, job.state
    return info, info.status if info else None


def progress_text(info: store.RunInfo) -> tuple[float, str]:
    epochs_done, batch = store.read_progress(info.path)
    total = max(1, info.epochs_total)
    if batch is None:
        return len(epochs_done) / total, f"epoch {len(epochs_done)} of {total} done"
    fraction = ((batch["epoch"] - 1) + batch["batch"] / max(1, batch["of"])) / total
    if batch["batch"] >= batch["of"]:  # all batches done: Keras validates now
        return min(fraction, 1.0), (
            f"epoch {batch['epoch']} of {total} · checking on the validation images"
        )
    return min(fraction, 1.0), (
        f"epoch {batch['epoch']} of {total} · batch {batch['batch']} of {batch['of']}"
        f" · about {train_ui.format_seconds(batch.get('eta'))} left"
    )


def render_run(rid: str, key: str) -> None:
    """Status, progress bar, cancel, curves, and the result once finished."""
    info, state = run_state(rid)
    if info is None or state is None:
        st.info("This run is not in the store (it may have been deleted).")
        return
    job = manager.get(rid)
    owner = job.owner if job is not None else info.owner
    icon = train_ui.STATE_ICONS.get(state, "")
    shown = (
        "cancelling" if job is not None and job.active and job.cancel_sent else state
    )
    who = train_ui.owner_label(owner, me)
    line = f"{icon} Run `{rid}` · **{shown}** · started by {who}"
    if state == store.QUEUED:
        line += f" · place {manager.position(rid)} in the queue"
    st.markdown(line)

    if state in (store.QUEUED, store.RUNNING):
        fraction, text = progress_text(info)
        st.progress(fraction, text=text)
        if access.can_cancel(owner, me, instructor) and not (job and job.cancel_sent):
            if st.button("Cancel this training", key=f"{key}_cancel_{rid}"):
                try:
                    manager.cancel(rid, me, instructor)
                    st.toast("Cancelling: it stops after the current batch.")
                except NotAllowed as error:
                    st.error(str(error))
    elif state in (store.INTERRUPTED, store.CANCELLED, store.FAILED):
        if info.message:
            st.caption(train_ui.safe_text(info.message))
        if info.resumable and st.button(
            f"Resume from epoch {info.epochs_done}", key=f"{key}_resume_{rid}"
        ):
            try:
                manager.resume(rid, me)
            except JobRejected as error:
                st.error(str(error))
            else:
                # This panel's fragment has no timer while the run is idle:
                # rerun the page so the resumed training shows live at once.
                st.rerun()

    epochs, _ = store.read_progress(info.path)
    if state == store.FINISHED:
        epochs = info.summary.get("history") or epochs
    if epochs:
        st.plotly_chart(
            train_ui.curves_figure(epochs), key=f"{key}_curves_{rid}", width="stretch"
        )
    elif state == store.RUNNING:
        st.caption("The first epoch is running; the curves start when it ends.")

    if state == store.FINISHED:
        summary = info.summary
        a, b, c = st.columns(3)
        a.metric("Final validation accuracy", f"{summary['final_val_accuracy']:.1%}")
        b.metric(
            "Best validation accuracy",
            f"{summary['best_val_accuracy']:.1%}",
            help=f"epoch {summary.get('best_epoch')}",
        )
        c.metric("Training time", train_ui.format_seconds(summary.get("seconds")))
        if summary.get("confusion"):
            from core.evaluate import confusion

            st.subheader("Confusion matrix")
            st.caption(
                "Each row is a true letter, each column what the model read; "
                "the Runs page shows the images behind each cell."
            )
            st.plotly_chart(
                train_ui.confusion_figure(confusion(summary)),
                key=f"{key}_confusion_{rid}",
                width="stretch",
            )


def live(rid: str, key: str) -> None:
    """Redraw ``render_run`` on a timer while the run is queued or running;
    one full rerun when it ends, so the timer stops."""
    _, state = run_state(rid)
    active = state in (store.QUEUED, store.RUNNING)

    @st.fragment(run_every=train_ui.POLL_EVERY_S if active else None)
    def panel():
        _, now = run_state(rid)
        if active and now not in (store.QUEUED, store.RUNNING):
            st.rerun()
        render_run(rid, key)

    panel()


def my_latest_job() -> str | None:
    """The run of this person's most recent launch on this server, so that a
    reload (a new session, same person) still follows it."""
    mine = [j for j in manager.jobs() if j.owner == me]
    return max(mine, key=lambda j: j.submitted).run_id if mine else None


st.subheader("This configuration")
watched = st.session_state.get(WATCH_KEY) or my_latest_job()
shown_live = {current_id}
if store.find_run(current_id) is not None or manager.get(current_id) is not None:
    live(current_id, "train_current")
else:
    st.info("These settings have not been trained on this data yet: press **Train**.")
    if watched and watched != current_id and store.find_run(watched) is not None:
        st.subheader("Your last launch")
        live(watched, "train_watched")
        shown_live.add(watched)


# --- with and without augmentation ----------------------------------------------

pair = st.session_state.get(COMPARE_KEY)
if pair:
    st.subheader("With and without augmentation")

    def comparison_active() -> bool:
        return any(run_state(r)[1] in (store.QUEUED, store.RUNNING) for r in pair)

    @st.fragment(run_every=train_ui.POLL_EVERY_S if comparison_active() else None)
    def comparison():
        series, states = {}, []
        for label, rid in zip(("with augmentation", "without augmentation"), pair):
            info, state = run_state(rid)
            states.append(f"{label}: {state or 'missing'}")
            if info is not None:
                series[label] = (
                    info.summary.get("history")
                    if info.finished
                    else store.read_progress(info.path)[0]
                )
        st.caption(" · ".join(states))
        if any(series.values()):
            st.plotly_chart(
                train_ui.overlay_figure(series, with_gap=True),
                key="train_compare_chart",
                width="stretch",
            )
            st.caption(
                "Without augmentation the training accuracy races towards 1.0 while "
                "validation stays lower: the gap (right) is overfitting."
            )

    comparison()


# --- the server's queue ---------------------------------------------------------

st.subheader("Trainings on this server")
jobs = [j for j in manager.jobs() if j.active]
if not jobs:
    st.caption("Nothing is training or waiting right now.")
else:
    # Whoever started them, from whichever tab: every running training is
    # shown live here unless it is already live above.
    for job in jobs:
        if job.state == store.RUNNING and job.run_id not in shown_live:
            live(job.run_id, "train_server")
    st.dataframe(
        [
            {
                "run": j.run_id,
                "state": j.state,
                "place": manager.position(j.run_id) or "",
                "epochs": j.config.epochs,
                "optimizer": j.config.optimizer,
                "started by": train_ui.owner_label(j.owner, me),
            }
            for j in jobs
        ],
        hide_index=True,
        width="stretch",
    )
