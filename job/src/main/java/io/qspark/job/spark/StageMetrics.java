package io.qspark.job.spark;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.SparkContext;
import org.apache.spark.executor.TaskMetrics;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.StageInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What each Spark stage of a command moved: bytes of task results sent to the driver (the
 * per-partition buffers a treeAggregate's last level returns), shuffle bytes written and read
 * (its intermediate levels), with task count and wall time; the reduction's cost, as the
 * issue asks the job to report. Logged as each stage ends and listed in report.json.
 */
public final class StageMetrics extends SparkListener implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger("io.qspark.stages");

  /** One finished stage; {@code job} is the description the pass gave its jobs (setJobGroup). */
  public record Stage(int id, String job, String name, int tasks, double seconds, long resultBytes,
      long shuffleWriteBytes, long shuffleReadBytes, long executorRunMs) {
    public Map<String, Object> json() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("stage", id);
      m.put("job", job);
      m.put("name", name);
      m.put("tasks", tasks);
      m.put("seconds", Math.round(seconds * 1000) / 1000.0);
      m.put("result_bytes_to_driver", resultBytes);
      m.put("shuffle_write_bytes", shuffleWriteBytes);
      m.put("shuffle_read_bytes", shuffleReadBytes);
      m.put("executor_run_ms", executorRunMs);
      return m;
    }

    public String describe() {
      return String.format(Locale.ROOT, "stage %d (%s, %s): %d tasks in %.1f s, %s of results to the driver,"
          + " shuffle %s written / %s read", id, job, name, tasks, seconds, bytes(resultBytes),
          bytes(shuffleWriteBytes), bytes(shuffleReadBytes));
    }
  }

  private final SparkContext sc;
  private final Map<Integer, String> jobOfStage = new LinkedHashMap<>();
  private final List<Stage> stages = new ArrayList<>();

  private StageMetrics(SparkContext sc) {
    this.sc = sc;
  }

  /** Listens from now until {@link #close}. */
  public static StageMetrics listen(SparkContext sc) {
    StageMetrics m = new StageMetrics(sc);
    sc.addSparkListener(m);
    return m;
  }

  @Override
  public synchronized void onStageSubmitted(SparkListenerStageSubmitted submitted) {
    String desc = submitted.properties() == null ? null : submitted.properties().getProperty("spark.job.description");
    jobOfStage.put(submitted.stageInfo().stageId(), desc == null ? "" : desc);
  }

  @Override
  public synchronized void onStageCompleted(SparkListenerStageCompleted completed) {
    StageInfo info = completed.stageInfo();
    TaskMetrics t = info.taskMetrics();
    long start = info.submissionTime().isDefined() ? (Long) info.submissionTime().get() : 0L;
    long end = info.completionTime().isDefined() ? (Long) info.completionTime().get() : start;
    Stage s = new Stage(info.stageId(), jobOfStage.getOrDefault(info.stageId(), ""), info.name(), info.numTasks(),
        (end - start) / 1e3, t == null ? 0 : t.resultSize(), t == null ? 0 : t.shuffleWriteMetrics().bytesWritten(),
        t == null ? 0 : t.shuffleReadMetrics().totalBytesRead(), t == null ? 0 : t.executorRunTime());
    stages.add(s);
    LOG.info(s.describe());
  }

  /** The stages finished so far, in completion order. */
  public synchronized List<Stage> stages() {
    return List.copyOf(stages);
  }

  /** The stages as report.json lists them. */
  public List<Object> json() {
    List<Object> l = new ArrayList<>();
    for (Stage s : stages()) l.add(s.json());
    return l;
  }

  @Override
  public void close() {
    sc.removeSparkListener(this);
  }

  static String bytes(long b) {
    if (b < 1024) return b + " B";
    if (b < 1024 * 1024) return String.format(Locale.ROOT, "%.1f KiB", b / 1024.0);
    return String.format(Locale.ROOT, "%.1f MiB", b / (1024.0 * 1024));
  }
}
