package io.qspark.kernels.train;

/**
 * Learning rate by step: linear warm-up from lr/warmup to lr over the first {@code warmup}
 * steps, then constant, cosine annealing to 0 at {@code total} steps (PyTorch's
 * CosineAnnealingLR with eta_min 0), or step decay by {@code gamma} every {@code stepSize}
 * steps (StepLR). A pure function of the step, so a resumed run needs no schedule state.
 */
public record LrSchedule(Kind kind, double lr, int warmup, long total, long stepSize, double gamma)
    implements java.io.Serializable {
  public enum Kind { CONSTANT, COSINE, STEP }

  public static Kind parse(String s) {
    for (Kind k : Kind.values()) if (k.name().equalsIgnoreCase(s)) return k;
    throw new IllegalArgumentException("unknown learning-rate schedule '" + s + "' (constant, cosine, step)");
  }

  public double at(long step) {
    if (step < warmup) return lr * (step + 1) / warmup;
    long t = step - warmup, span = Math.max(1, total - warmup);
    switch (kind) {
      case COSINE: return lr * 0.5 * (1 + Math.cos(Math.PI * Math.min(t, span) / span));
      case STEP: return lr * Math.pow(gamma, stepSize <= 0 ? 0 : t / stepSize);
      default: return lr;
    }
  }
}
