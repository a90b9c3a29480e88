package io.qspark.kernels.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Updates named parameter vectors from their gradients, keeping per-parameter state (momentum,
 * moments) that checkpoints carry. Weight decay is L2 added to the gradient before the step, as
 * PyTorch's SGD and Adam apply weight_decay. State is in double, so a resumed run continues
 * exactly.
 */
public abstract class Optimizer implements java.io.Serializable {
  private static final long serialVersionUID = 1L;
  private final double weightDecay;

  protected Optimizer(double weightDecay) {
    this.weightDecay = weightDecay;
  }

  public static Optimizer of(String kind, double momentum, double weightDecay) {
    switch (kind) {
      case "sgd": return new Sgd(momentum, weightDecay);
      case "adam": return new AdamW(weightDecay);
      default: throw new IllegalArgumentException("unknown optimizer '" + kind + "' (sgd, adam)");
    }
  }

  /** One step on one parameter; grad is changed (weight decay added). */
  public final void step(String name, float[] param, double[] grad, double lr) {
    if (weightDecay != 0) for (int i = 0; i < grad.length; i++) grad[i] += weightDecay * param[i];
    update(name, param, grad, lr);
  }

  protected abstract void update(String name, float[] param, double[] grad, double lr);

  /** Forgets every parameter's state (the parameters were replaced, e.g. by BatchNorm folding). */
  public abstract void reset();

  /** SGD with momentum as PyTorch's (dampening 0): buf = mu buf + g; p -= lr buf. */
  public static final class Sgd extends Optimizer {
    private static final long serialVersionUID = 1L;
    private final double momentum;
    private final Map<String, double[]> buffers = new LinkedHashMap<>();

    public Sgd(double momentum, double weightDecay) {
      super(weightDecay);
      this.momentum = momentum;
    }

    @Override
    protected void update(String name, float[] param, double[] grad, double lr) {
      double[] b = grad;
      if (momentum != 0) {
        double[] buf = buffers.get(name);
        if (buf == null) {
          buffers.put(name, grad.clone());
          b = grad;
        } else {
          for (int i = 0; i < buf.length; i++) buf[i] = momentum * buf[i] + grad[i];
          b = buf;
        }
      }
      for (int i = 0; i < param.length; i++) param[i] = (float) (param[i] - lr * b[i]);
    }

    @Override
    public void reset() {
      buffers.clear();
    }
  }

  /** {@link Adam} per parameter, with the schedule's learning rate and L2 weight decay. */
  public static final class AdamW extends Optimizer {
    private static final long serialVersionUID = 1L;
    private final Map<String, Adam> moments = new LinkedHashMap<>();

    public AdamW(double weightDecay) {
      super(weightDecay);
    }

    @Override
    protected void update(String name, float[] param, double[] grad, double lr) {
      moments.computeIfAbsent(name, k -> new Adam(param.length, lr)).step(param, grad, lr);
    }

    @Override
    public void reset() {
      moments.clear();
    }
  }
}
