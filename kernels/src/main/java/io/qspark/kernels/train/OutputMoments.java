package io.qspark.kernels.train;

import io.qspark.kernels.quant.ExactSum;
import io.qspark.kernels.tensor.Tensor;
import java.io.Serializable;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Each output's mean and variance over all its values, exactly and mergeably: per output the
 * exact sums of x (positive and negative parts, each an {@link ExactSum}) and of x² and the value
 * count, so the variance read from a merge of per-partition buffers is the same for any
 * partitioning and any order. Variance = Σx²/n − (Σx/n)², formed once in decimal from the exact
 * sums and rounded once to a double: the population variance {@link DistillationLoss} divides
 * each output's squared error by.
 */
public final class OutputMoments implements Serializable {
  private static final long serialVersionUID = 1L;

  private static final class Sums implements Serializable {
    private static final long serialVersionUID = 1L;
    final ExactSum pos = new ExactSum(), neg = new ExactSum(), squares = new ExactSum();
    long values;

    void merge(Sums o) {
      pos.merge(o.pos);
      neg.merge(o.neg);
      squares.merge(o.squares);
      values += o.values;
    }
  }

  private final LinkedHashMap<String, Sums> outputs = new LinkedHashMap<>();

  /** Adds a batch of every output given (by name, in the order the first batch gives them). */
  public OutputMoments add(Map<String, Tensor> values) {
    values.forEach((name, t) -> add(name, t.data()));
    return this;
  }

  /** Adds a batch of one output's values (finite). */
  public OutputMoments add(String output, float[] x) {
    Sums s = outputs.computeIfAbsent(output, k -> new Sums());
    for (float v : x) {
      if (!Float.isFinite(v)) throw new IllegalArgumentException("output '" + output + "' has a value " + v);
      if (v > 0) s.pos.add(v);
      else if (v < 0) s.neg.add(-v);
    }
    s.squares.addSquares(x);
    s.values += x.length;
    return this;
  }

  public OutputMoments merge(OutputMoments o) {
    o.outputs.forEach((k, v) -> outputs.computeIfAbsent(k, x -> new Sums()).merge(v));
    return this;
  }

  /** The outputs seen, in the order they were first added. */
  public java.util.Set<String> outputs() {
    return java.util.Collections.unmodifiableSet(outputs.keySet());
  }

  /** Each output's population variance, by name in the order first added (0 for an output without values). */
  public Map<String, Double> variances() {
    Map<String, Double> r = new LinkedHashMap<>();
    outputs.forEach((k, s) -> {
      if (s.values == 0) {
        r.put(k, 0.0);
        return;
      }
      BigDecimal n = BigDecimal.valueOf(s.values);
      BigDecimal mean = s.pos.value().subtract(s.neg.value()).divide(n, MathContext.DECIMAL128);
      BigDecimal meanSquare = s.squares.value().divide(n, MathContext.DECIMAL128);
      r.put(k, Math.max(0, meanSquare.subtract(mean.multiply(mean)).doubleValue()));
    });
    return r;
  }

  /** Each output's mean, by name. */
  public Map<String, Double> means() {
    Map<String, Double> r = new LinkedHashMap<>();
    outputs.forEach((k, s) -> r.put(k, s.values == 0 ? 0.0
        : s.pos.value().subtract(s.neg.value()).divide(BigDecimal.valueOf(s.values), MathContext.DECIMAL128).doubleValue()));
    return r;
  }
}
