"""What the course's code does on Keras 3 *unchanged*, found by running it.

Each case runs in its own subprocess (``python -m bench.probe CASE ROWS
FOLDER``) on the first rows of the real training file, and prints one line
``PROBE {json}``: whether it finished, the error it raised (type and first
line), the batches each epoch really ran and Keras's "ran out of data"
warnings. ``run_probes`` collects them for the report.

Cases:

- ``unchanged``: the course's cells as written (``img_iter.next()``, then
  ``steps_per_epoch=len(x_train)/batch_size``, a float);
- ``float_steps``: only the preview fixed (``next(img_iter)``), so the float
  ``steps_per_epoch`` reaches ``fit``;
- ``floor_steps``: ``steps_per_epoch=len(x_train)//batch_size``, an integer
  one step short of the iterator;
- ``ceil_steps``: ``math.ceil(len(x_train)/batch_size)``, the port's choice;
- ``no_scipy``: the port with SciPy made unimportable, as on a venv without it.

Not a test: it records behaviour, it asserts nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CASES = ("unchanged", "float_steps", "floor_steps", "ceil_steps", "no_scipy")
PROBE_EPOCHS = 3


def _run_case(case: str, rows: int, folder: Path) -> dict:
    if case == "no_scipy":
        sys.modules["scipy"] = None  # any "import scipy..." now raises ImportError

    from bench import course

    result = {"case": case, "rows": rows, "epochs": PROBE_EPOCHS}
    train_df, valid_df = course.read_course_frames(folder, rows)
    arrays = course.course_arrays(train_df, valid_df.head(rows))
    x_train, y_train = arrays["x_train"], arrays["y_train"]
    batch_size = course.BATCH_SIZE
    model = course.build_course_model()
    datagen = course.image_data_generator_class()(**course.DATAGEN_SETTINGS)
    img_iter = datagen.flow(x_train, y_train, batch_size=batch_size)
    result["iterator_batches"] = len(img_iter)
    clock = course.epoch_clock_callback()
    try:
        if case == "unchanged":
            x, y = img_iter.next()
        else:
            x, y = next(img_iter)
        datagen.fit(x_train)
        model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
        if case in ("unchanged", "float_steps"):
            steps = len(x_train) / batch_size
        elif case == "floor_steps":
            steps = course.steps_for(len(x_train), "floor")
        else:
            steps = course.steps_for(len(x_train), "ceil")
        result["steps_per_epoch"] = steps
        result["ran_out_warnings"] = course.fit_counting_ran_out(
            model, img_iter, arrays, PROBE_EPOCHS, steps, clock
        )
        result["finished"] = True
    except Exception as error:  # the point is to record what breaks
        result["finished"] = False
        result["error"] = f"{type(error).__name__}: {str(error).splitlines()[0]}"
    result["batches_per_epoch"] = [r["batches"] for r in clock.records]
    return result


def run_probes(folder: Path, rows: int = 1000, timeout: float = 300) -> list[dict]:
    """Every case in its own Python; a case that dies or hangs is recorded so."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    results = []
    for case in CASES:
        command = [sys.executable, "-m", "bench.probe", case, str(rows), str(folder)]
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=timeout,
                env=env,
                cwd=Path(__file__).resolve().parent.parent,
            )
        except subprocess.TimeoutExpired:
            results.append({"case": case, "finished": False, "error": "timed out"})
            continue
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith("PROBE ")]
        if lines:
            results.append(json.loads(lines[-1][len("PROBE ") :]))
        else:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            results.append({"case": case, "finished": False, "error": tail})
    return results


if __name__ == "__main__":
    case_name, row_count, data_folder = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    outcome = _run_case(case_name, row_count, Path(data_folder))
    print("PROBE " + json.dumps(outcome), flush=True)
