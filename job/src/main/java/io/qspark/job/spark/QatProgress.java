package io.qspark.job.spark;

import io.qspark.kernels.train.QatGradient;
import java.util.Locale;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * QAT's progress lines: epoch, step, the mean loss and accuracy of the steps since the last
 * line, images/s over them and the time left at that rate. Every {@code every} steps and at
 * each epoch's end; each line is also handed on as a {@link Row} (the run's training history).
 */
public final class QatProgress {
  private static final Logger LOG = LoggerFactory.getLogger("io.qspark.progress");
  private final long stepsPerEpoch;
  private final long totalSteps;
  private final int every;
  private final Consumer<Row> rows;
  private final boolean top1;
  private long since = System.nanoTime();
  private double loss;
  private double accuracy;
  private long images;
  private int steps;

  /** One progress line: the epoch (1-based), the steps done, and the means since the previous line. */
  public record Row(int epoch, long step, double lr, double loss, double trainTop1, double imagesPerSecond) {}

  public QatProgress(long stepsPerEpoch, long totalSteps, int every, Consumer<Row> rows) {
    this(stepsPerEpoch, totalSteps, every, true, rows);
  }

  /** @param top1 the loss counts correct classes (a classifier's labels): lines show train top-1; otherwise it is NaN */
  public QatProgress(long stepsPerEpoch, long totalSteps, int every, boolean top1, Consumer<Row> rows) {
    this.top1 = top1;
    this.rows = rows;
    this.stepsPerEpoch = stepsPerEpoch;
    this.totalSteps = totalSteps;
    this.every = every;
  }

  /** @param step the steps done, this one included */
  public void step(long step, QatGradient.Total t, double lr) {
    loss += t.loss();
    accuracy += t.accuracy();
    images += t.count();
    steps++;
    if (step % every != 0 && step % stepsPerEpoch != 0 && step != totalSteps) return;
    long now = System.nanoTime();
    double secs = (now - since) / 1e9, rate = images / Math.max(1e-9, secs);
    double left = (totalSteps - step) * (secs / steps);
    String train = top1 ? String.format(Locale.ROOT, ", train top-1 %.2f%%", 100 * accuracy / steps) : "";
    LOG.info(String.format(Locale.ROOT, "qat: epoch %d, step %d/%d, loss %.4f%s, lr %.3g, %.0f images/s, about %s left",
        (step - 1) / stepsPerEpoch + 1, (step - 1) % stepsPerEpoch + 1, stepsPerEpoch, loss / steps, train, lr,
        rate, ProgressLog.duration(left)));
    rows.accept(new Row((int) ((step - 1) / stepsPerEpoch + 1), step, lr, loss / steps, top1 ? 100 * accuracy / steps : Double.NaN,
        rate));
    since = now;
    loss = 0;
    accuracy = 0;
    images = 0;
    steps = 0;
  }
}
