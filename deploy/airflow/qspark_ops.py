"""What the qspark DAG needs besides Airflow, importable without it (qspark's tests run it
with plain python3): the JVM options, read from the one file deploy/spark-submit.sh reads too,
and which qspark exit codes are deterministic, so that a retry could only fail the same way.
"""
import re

# qspark's exit codes (io.qspark.job.cli.ExitCodes; README.md "Exit codes")
BAD_INPUT = 2     # bad command line, model or data: the same input fails the same way
JOB_FAILED = 3    # the Spark job failed (lost executors, out of memory): worth a retry
GATE_FAILED = 4   # the accuracy gate was missed: the same model misses it again

NOT_RETRIED = {
    BAD_INPUT: "bad input (fix the model, data or options)",
    GATE_FAILED: "the accuracy gate (simulate --max-top1-drop) was missed",
}


def jvm_options(path):
    """The options of a jvm-options file (one per line, # comments) as one string, as spark-submit.sh joins them."""
    with open(path, encoding="utf-8") as f:
        words = []
        for line in f:
            words.extend(line.split("#", 1)[0].split())
    if not words:
        raise ValueError(path + " holds no JVM options")
    return " ".join(words)


def exit_code(message):
    """The spark-submit exit code an Airflow SparkSubmitHook failure names, or None."""
    m = re.search(r"(?:Error code is|Exit code):? (-?\d+)", message)
    return int(m.group(1)) if m else None


def not_retried(message):
    """Why a failed spark-submit of qspark is not worth retrying, or None when it is."""
    code = exit_code(message)
    return NOT_RETRIED.get(code) if code is not None else None
