package io.qspark.job.spark;

import java.util.Locale;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.util.LongAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs images done and throughput as tasks finish, at most every {@code interval} and not at
 * all for jobs shorter than that: long stages show life, short ones stay quiet.
 */
final class ProgressLog extends SparkListener {
  private static final Logger LOG = LoggerFactory.getLogger("io.qspark.progress");

  private final String what;
  private final LongAccumulator done;
  private final long total;
  private final long intervalNanos;
  private final long start = System.nanoTime();
  private long lastLog = start;

  ProgressLog(String what, LongAccumulator done, long total, long intervalMillis) {
    this.what = what;
    this.done = done;
    this.total = total;
    this.intervalNanos = intervalMillis * 1_000_000L;
  }

  @Override
  public synchronized void onTaskEnd(SparkListenerTaskEnd taskEnd) {
    long now = System.nanoTime();
    if (now - lastLog < intervalNanos) return;
    lastLog = now;
    long n = done.value();
    double s = (now - start) / 1e9;
    double rate = n / s;
    String eta = n == 0 || n >= total ? "" : ", about " + duration((total - n) / rate) + " left";
    LOG.info(String.format(Locale.ROOT, "%s: %,d of %,d images (%.0f%%), %.0f images/s%s", what, n, total,
        100.0 * n / Math.max(1, total), rate, eta));
  }

  static String duration(double seconds) {
    long s = Math.round(seconds);
    if (s < 60) return s + " s";
    if (s < 3600) return String.format(Locale.ROOT, "%d min %02d s", s / 60, s % 60);
    return String.format(Locale.ROOT, "%d h %02d min", s / 3600, (s % 3600) / 60);
  }
}
