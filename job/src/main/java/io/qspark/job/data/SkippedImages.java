package io.qspark.job.data;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;

/**
 * Images the executors could not decode and skipped: a count, and a few examples for the
 * warning at the end. Accumulators updated inside a transformation count again when Spark
 * retries a task, so after lost executors the count can be high; it is a warning, not a result.
 */
public final class SkippedImages implements Serializable {
  private static final long serialVersionUID = 1L;
  /** Examples kept per task, and shown in the warning. */
  private static final int EXAMPLES = 3;

  private final LongAccumulator count;
  private final CollectionAccumulator<String> examples;

  private SkippedImages(LongAccumulator count, CollectionAccumulator<String> examples) {
    this.count = count;
    this.examples = examples;
  }

  public static SkippedImages register(JavaSparkContext sc) {
    return new SkippedImages(sc.sc().longAccumulator("qspark.skipped"),
        sc.sc().collectionAccumulator("qspark.skipped.examples"));
  }

  /** In a task: one more image skipped, and why. */
  public void add(String name, String why) {
    count.add(1);
    // on an executor value() is this task's own list, so each task sends at most a few names
    if (examples.value().size() < EXAMPLES) examples.add(name + " (" + why + ")");
  }

  public long count() {
    return count.value();
  }

  /** On the driver after the job: the warning, if any image was skipped. */
  public Optional<String> warning(long total) {
    long n = count.value();
    if (n == 0) return Optional.empty();
    List<String> e = new ArrayList<>(examples.value());
    e.sort(null);
    return Optional.of(String.format(Locale.ROOT, "skipped %,d of %,d images that could not be decoded"
        + " (--strict makes this an error), e.g. %s", n, total, String.join("; ", e.subList(0, Math.min(EXAMPLES, e.size())))));
  }
}
