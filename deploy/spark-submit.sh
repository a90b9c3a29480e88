#!/usr/bin/env bash
# Submits a qspark command to a Spark cluster: the canonical spark-submit line for qspark.
#
#   deploy/spark-submit.sh calibrate --model resnet18.onnx --data hdfs:///imagenet/val \
#     --resize 256 --crop 224 --mean 123.68,116.78,103.94 --std 58.4,57.12,57.38 \
#     --out hdfs:///qspark/resnet18-int8
#
# Everything after the script name is the qspark command line (see `bin/qspark --help`).
# Client deploy mode by default: --model and IDX data are files of the driver (README.md).
#
# Settings (environment, default in brackets):
#   SPARK_HOME          spark-submit is $SPARK_HOME/bin/spark-submit, else the one on PATH
#   QSPARK_JAR          [job/target/qspark-0.1.0.jar next to this script]
#   MASTER              [yarn]           DEPLOY_MODE [client]
#   NUM_EXECUTORS       [4]              EXECUTOR_CORES [4]
#   EXECUTOR_MEMORY     [12g]   Java heap of an executor
#   EXECUTOR_OVERHEAD   [1536m] the executor container's memory outside the heap
#   DRIVER_MEMORY       [4g]             DRIVER_OVERHEAD [1g]
#
# Memory (measured, BENCHMARKS.md "Deployment memory": calibrate in local mode, one JVM with
# two task threads, NativeMemoryTracking, /proc/<pid>/smaps and GC logs).
# - Heap: Spark runs EXECUTOR_CORES tasks at once, each scoring a mini-batch of --batch images
#   as float arrays on the heap (the SIMD conv kernels work on the heap). ResNet-18 at 224x224
#   peaked at 5.3 GB of live heap with --batch 64 and 3.2 GB with --batch 16: about 22 MB per
#   image in flight plus 2.5 GB that does not depend on the batch. 4 tasks x 64 images x 22 MB
#   is 5.6 GB, so 12g leaves room for the rest; with 8g, pass --batch 16.
# - Overhead: the JVM's own non-heap was 0.2 GB plus 4.5% of the heap (metaspace 65 MB with
#   Spark loaded, code, symbols, threads, 53 MB of direct buffers; G1's tables grow with the
#   heap: 272 MB at 6 GB). The native side is small: OpenBLAS through JavaCPP (2.5 MB
#   mapped), it runs the fully connected layers on one thread per task, and what no JVM counter
#   sees (OpenBLAS, JavaCPP buffers, malloc arenas) stayed under 40 MB. For a 12g heap that is
#   ~0.8 GB; 1536m adds ~0.7 GB for Netty's direct buffers of broadcasts and shuffles, which
#   local mode does not use (Spark's default, 10% of the heap, would leave ~0.4 GB).
# The options every JVM needs on Java 17 are in deploy/jvm-options (one place, also read by the
# Airflow DAG; a test keeps them equal to the root pom's spark.java17.opens).
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
options="${QSPARK_JVM_OPTIONS:-$here/jvm-options}"
if [[ ! -f "$options" ]]; then
  echo "qspark: error: $options is missing (the JVM options file beside this script, or set QSPARK_JVM_OPTIONS)" >&2
  exit 2
fi
JAVA17_OPTS="$(sed -e 's/#.*//' "$options" | xargs)"

jar="${QSPARK_JAR:-$here/../job/target/qspark-0.1.0.jar}"
if [[ ! -f "$jar" ]]; then
  echo "qspark: error: $jar is missing; build it with 'mvn -B -DskipTests package' or set QSPARK_JAR" >&2
  exit 2
fi
if [[ $# -eq 0 ]]; then
  echo "usage: $0 <qspark command> [options]   (e.g. $0 evaluate --model M.onnx --data D ...)" >&2
  exit 2
fi

exec "${SPARK_HOME:+$SPARK_HOME/bin/}spark-submit" \
  --class io.qspark.job.Main \
  --name "qspark $1" \
  --master "${MASTER:-yarn}" \
  --deploy-mode "${DEPLOY_MODE:-client}" \
  --num-executors "${NUM_EXECUTORS:-4}" \
  --executor-cores "${EXECUTOR_CORES:-4}" \
  --executor-memory "${EXECUTOR_MEMORY:-12g}" \
  --driver-memory "${DRIVER_MEMORY:-4g}" \
  --conf "spark.executor.memoryOverhead=${EXECUTOR_OVERHEAD:-1536m}" \
  --conf "spark.driver.memoryOverhead=${DRIVER_OVERHEAD:-1g}" \
  --conf "spark.driver.extraJavaOptions=$JAVA17_OPTS" \
  --conf "spark.executor.extraJavaOptions=$JAVA17_OPTS" \
  "$jar" "$@"
