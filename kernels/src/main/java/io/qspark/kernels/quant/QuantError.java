package io.qspark.kernels.quant;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.exec.TensorObserver;
import io.qspark.kernels.tensor.ArgMax;
import io.qspark.kernels.tensor.Tensor;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How far the quantized model is from the float one, tensor by tensor: the signal-to-
 * quantization-noise ratio at every activation point (float model vs fake-quant model, each
 * fed the same images, so the error accumulated up to that point counts), and how often the
 * two agree on the top class. A per-partition buffer with add and merge; the sums of squares
 * are exact ({@link ExactSum}), so every figure is the same for any partitioning.
 */
public final class QuantError implements Serializable {
  private static final long serialVersionUID = 1L;
  private final LinkedHashMap<String, ExactSum[]> sums = new LinkedHashMap<>();
  private long images;
  private long agree;
  private long labelled;
  private long floatCorrect;
  private long quantCorrect;

  /** Runs both models on a batch; labels may be null (or negative for unlabelled images). */
  public void add(Executor floatEx, QuantizedModel q, Executor quantEx, Tensor input, int[] labels) {
    String in = q.graph().inputs().get(0).name();
    String out = q.graph().outputs().get(0);
    Map<String, Tensor> f = floatEx.run(Map.of(in, input), TensorObserver.NONE, true);
    Map<String, Tensor> z = quantEx.run(Map.of(in, input), q.fakeQuant(), true);
    for (QuantPlan.ActivationPoint a : q.plan().activations()) {
      Tensor ft = a.name().equals(in) ? input : f.get(a.name());
      Tensor qt = a.name().equals(in) ? q.fakeQuant().onValue(null, in, input) : z.get(a.name());
      if (ft == null || qt == null || !ft.isFloat()) continue;
      ExactSum[] s = sums.computeIfAbsent(a.name(), k -> new ExactSum[] {new ExactSum(), new ExactSum()});
      float[] x = ft.data(), y = qt.data();
      s[0].addSquares(x);
      s[1].addSquaredErrors(x, y);
    }
    float[] lf = f.get(out).data(), lq = z.get(out).data();
    int n = input.dim(0);
    int classes = lf.length / n;
    for (int b = 0; b < n; b++) {
      int af = ArgMax.of(lf, b * classes, classes), aq = ArgMax.of(lq, b * classes, classes);
      if (af == aq) agree++;
      if (labels != null && labels[b] >= 0) {
        labelled++;
        if (af == labels[b]) floatCorrect++;
        if (aq == labels[b]) quantCorrect++;
      }
    }
    images += n;
  }

  public QuantError merge(QuantError o) {
    o.sums.forEach((k, v) -> {
      ExactSum[] s = sums.computeIfAbsent(k, x -> new ExactSum[] {new ExactSum(), new ExactSum()});
      s[0].merge(v[0]);
      s[1].merge(v[1]);
    });
    images += o.images;
    agree += o.agree;
    labelled += o.labelled;
    floatCorrect += o.floatCorrect;
    quantCorrect += o.quantCorrect;
    return this;
  }

  /** SQNR in dB per activation point, in plan order (infinite when there is no error). */
  public Map<String, Double> sqnrDb() {
    Map<String, Double> r = new LinkedHashMap<>();
    sums.forEach((k, s) -> r.put(k, ExactSum.decibels(s[0], s[1])));
    return r;
  }

  public long images() {
    return images;
  }

  /** Share of images where float and quantized models pick the same class. */
  public double agreement() {
    return images == 0 ? 0 : (double) agree / images;
  }

  public boolean hasLabels() {
    return labelled > 0;
  }

  public double floatTop1() {
    return labelled == 0 ? Double.NaN : 100.0 * floatCorrect / labelled;
  }

  public double quantTop1() {
    return labelled == 0 ? Double.NaN : 100.0 * quantCorrect / labelled;
  }
}
