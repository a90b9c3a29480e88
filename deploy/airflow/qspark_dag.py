"""Nightly quantization of a float model with qspark, as an Airflow DAG.

calibrate -> finetune -> deploy -> simulate, each a spark-submit of the qspark application jar. Every run
date writes its own output folders (templated with {{ ds }}); qspark writes each folder
atomically, so a retried task never sees half a model, and `--overwrite` lets a retry replace
what an earlier attempt committed. The simulate task is the accuracy gate: it exits with code 4
(and the task fails) when the bit-exact integer simulation's top-1 falls more than
`max_top1_drop` points below the float model's on the validation set.

The application arguments live in STAGES, a plain literal, so that qspark's test suite can
check every one of them against the job's own command-line parser
(job/src/test/java/io/qspark/job/cli/AirflowDagTest.java).
"""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

# Where things are; override per deployment with Airflow Variables or by editing here.
JAR = "/opt/qspark/qspark-0.1.0.jar"
ROOT = "hdfs:///qspark"
RUN = ROOT + "/runs/{{ ds }}"

STAGES = {
    "calibrate": [
        "calibrate",
        "--model", ROOT + "/models/resnet_s.onnx",
        "--data", ROOT + "/data/fashion-mnist/train-images-idx3-ubyte.gz",
        "--mean", "72.94", "--std", "90.02",
        "--calib-size", "1000", "--method", "mse", "--bits", "8",
        "--out", RUN + "/calib", "--overwrite",
    ],
    # the PTQ folder above is the baseline in the run's outputs; the deployed model is the
    # fine-tuned one (cross-layer equalization, bias correction, AdaQuant with Vitis' 20 steps)
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
        "--mean", "72.94", "--std", "90.02",
        "--max-top1-drop", "{{ params.max_top1_drop }}",
        # the figures as report.json/report.html beside the other folders (written before the gate)
        "--out", RUN + "/simulate", "--overwrite",
    ],
}

# The JVM options Spark needs on Java 17, plus the Vector API module qspark's kernels use;
# the same list as deploy/spark-submit.sh.
JAVA_OPTS = (
    "--add-modules=jdk.incubator.vector "
    "--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED "
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED"
)

default_args = {
    "owner": "ml-platform",
    # a lost executor is retried by Spark itself; these retries cover the driver's failures
    "retries": 2,
    "retry_delay": timedelta(minutes=10),
}

with DAG(
    dag_id="qspark_quantize",
    description="Calibrate, deploy and simulate a model for the DPU with qspark",
    start_date=datetime(2026, 11, 1),
    schedule="@daily",
    catchup=False,
    default_args=default_args,
    params={"max_top1_drop": 0.5},
    tags=["qspark", "quantization"],
) as dag:
    tasks = {
        name: SparkSubmitOperator(
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
    tasks["calibrate"] >> tasks["finetune"] >> tasks["deploy"] >> tasks["simulate"]
