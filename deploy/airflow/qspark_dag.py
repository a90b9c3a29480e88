"""Nightly quantization of a float model with qspark, as an Airflow DAG.

finetune -> deploy -> simulate, each a spark-submit of the qspark application jar (finetune
calibrates as part of its work: a separate calibrate task would only write a folder no later
task reads). Every run date writes its own output folders (templated with {{ ds }}); qspark
writes each folder atomically, so a retried task never sees half a model, and `--overwrite` lets
a retry replace what an earlier attempt committed. The simulate task is the accuracy gate: it
exits with code 4 (and the task fails) when the bit-exact integer simulation's top-1 falls more
than `max_top1_drop` points below the float model's on the validation set.

Retries are for failures another attempt can fix (a lost driver, exit code 3: the Spark job
failed); bad input (exit code 2) and the accuracy gate (4) fail the task at once
(QsparkSubmitOperator). This needs client deploy mode, where spark-submit's exit code is the
driver's. The JVM options come from jvm-options beside the jar (deploy/jvm-options, which
deploy/spark-submit.sh reads too); qspark_ops.py goes into the DAG folder with this file.

The application arguments live in STAGES, a plain literal, so that qspark's test suite can
check every one of them against the job's own command-line parser
(job/src/test/java/io/qspark/job/cli/AirflowDagTest.java).
"""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.exceptions import AirflowException, AirflowFailException
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

import qspark_ops

# Where things are; override per deployment with Airflow Variables or by editing here.
QSPARK_HOME = "/opt/qspark"
JAR = QSPARK_HOME + "/qspark-0.1.0.jar"
ROOT = "hdfs:///qspark"
RUN = ROOT + "/runs/{{ ds }}"

STAGES = {
    # the deployed model is the fine-tuned one: finetune's own calibration, with cross-layer
    # equalization, bias correction and AdaQuant with Vitis' 20 steps, each kept only if it helps
    "finetune": [
        "finetune",
        "--model", ROOT + "/models/resnet_s.onnx",
        "--data", ROOT + "/data/fashion-mnist/train-images-idx3-ubyte.gz",
        "--mean", "72.94", "--std", "90.02",
        "--calib-size", "1000", "--method", "mse", "--bits", "8",
        "--cle", "--bias-correction", "--adaquant-steps", "20",
        "--out", RUN + "/finetune", "--overwrite",
    ],
    "deploy": [
        "deploy",
        "--calib", RUN + "/finetune",
        "--out", RUN + "/deploy", "--overwrite",
    ],
    "simulate": [
        "simulate",
        "--deploy", RUN + "/deploy",
        "--data", ROOT + "/data/fashion-mnist/t10k-images-idx3-ubyte.gz",
        # no --mean/--std: the deploy folder records finetune's preprocessing and simulate applies it
        "--max-top1-drop", "{{ params.max_top1_drop }}",
        # the figures as report.json/report.html beside the other folders (written before the gate)
        "--out", RUN + "/simulate", "--overwrite",
    ],
}

# The JVM options Spark needs on Java 17, plus the Vector API module qspark's kernels use:
# the file deploy/spark-submit.sh reads, installed beside the jar.
JAVA_OPTS = qspark_ops.jvm_options(QSPARK_HOME + "/jvm-options")


class QsparkSubmitOperator(SparkSubmitOperator):
    """spark-submit of qspark whose deterministic failures (exit codes 2 and 4) are not retried."""

    def execute(self, context):
        try:
            return super().execute(context)
        except AirflowException as e:
            why = qspark_ops.not_retried(str(e))
            if why is not None:
                raise AirflowFailException("qspark failed with " + why + "; not retried: " + str(e)) from e
            raise


default_args = {
    "owner": "ml-platform",
    # a lost executor is retried by Spark itself; these retries cover the driver's failures
    # (bad input and the accuracy gate are not retried: QsparkSubmitOperator)
    "retries": 2,
    "retry_delay": timedelta(minutes=10),
}

with DAG(
    dag_id="qspark_quantize",
    description="Quantize (finetune), deploy and simulate a model for the DPU with qspark",
    start_date=datetime(2026, 11, 1),
    schedule="@daily",
    catchup=False,
    default_args=default_args,
    params={"max_top1_drop": 0.5},
    tags=["qspark", "quantization"],
) as dag:
    tasks = {
        name: QsparkSubmitOperator(
            task_id=name,
            application=JAR,
            java_class="io.qspark.job.Main",
            application_args=args,
            conn_id="spark_default",
            conf={
                "spark.driver.extraJavaOptions": JAVA_OPTS,
                "spark.executor.extraJavaOptions": JAVA_OPTS,
            },
            executor_memory="4g",
        )
        for name, args in STAGES.items()
    }
    tasks["finetune"] >> tasks["deploy"] >> tasks["simulate"]
