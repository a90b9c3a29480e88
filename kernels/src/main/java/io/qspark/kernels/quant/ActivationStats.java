package io.qspark.kernels.quant;

import io.qspark.kernels.exec.TensorObserver;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.graph.GraphException;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.util.Map;
import java.util.TreeMap;

/**
 * Calibration's per-partition buffer: one {@link Histogram} per activation point, filled by
 * observing the executor, merged across partitions. Like the histograms it holds, merging is
 * exact and order-free, so the driver's decision is the same for any partitioning.
 */
public final class ActivationStats implements Serializable {
  private static final long serialVersionUID = 1L;
  private final TreeMap<String, Histogram> histograms = new TreeMap<>();
  private long images;

  public ActivationStats() {}

  /** An observer that adds every point's deciding value to its histogram. */
  public TensorObserver observer(QuantPlan plan) {
    return observer(plan, null);
  }

  /** The same for the points in {@code only} (all when null). */
  public TensorObserver observer(QuantPlan plan, java.util.Set<String> only) {
    return new TensorObserver() {
      @Override
      public Tensor onValue(Node node, String name, Tensor value) {
        if (name.equals(plan.pointOf(name)) && value.isFloat() && (only == null || only.contains(name))) {
          Histogram h = histograms.computeIfAbsent(name, k -> new Histogram());
          h.update(value.data());
          if (h.nonFinite() > 0) {
            throw new GraphException("tensor '" + name + "'" + (node == null ? "" : " (output of " + node.describe() + ")")
                + " has " + h.nonFinite() + " NaN/Inf values; check the input data and the model's weights");
          }
        }
        return value;
      }

      /** Histograms copy what they count: the forward may reuse the arrays ({@link io.qspark.kernels.tensor.Arena}). */
      @Override
      public boolean retainsValues() {
        return false;
      }
    };
  }

  public void addImages(long n) {
    images += n;
  }

  public long images() {
    return images;
  }

  public ActivationStats merge(ActivationStats other) {
    other.histograms.forEach((k, h) -> histograms.merge(k, h, Histogram::merge));
    images += other.images;
    return this;
  }

  public Map<String, Histogram> histograms() {
    return histograms;
  }

  /**
   * Spark sends a task's buffer to the driver with Java serialization; default serialization
   * would write every allocated 128-bin block of every histogram in full (about 45 KB per
   * tensor on resnet18), the compact form writes only non-empty bins (about 9 KB).
   */
  private Object writeReplace() {
    return new Compact(toByteArray());
  }

  private void readObject(java.io.ObjectInputStream in) throws java.io.InvalidObjectException {
    throw new java.io.InvalidObjectException("ActivationStats is serialized in its compact form");
  }

  /** The serialized form: {@link #toByteArray}'s bytes. */
  private record Compact(byte[] bytes) implements Serializable {
    private Object readResolve() {
      return fromByteArray(bytes);
    }
  }

  public byte[] toByteArray() {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      DataOutputStream out = new DataOutputStream(bytes);
      out.writeLong(images);
      out.writeInt(histograms.size());
      for (Map.Entry<String, Histogram> e : histograms.entrySet()) {
        out.writeUTF(e.getKey());
        byte[] h = e.getValue().toByteArray();
        out.writeInt(h.length);
        out.write(h);
      }
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public static ActivationStats fromByteArray(byte[] b) {
    try {
      DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(b));
      ActivationStats s = new ActivationStats();
      s.images = in.readLong();
      int n = in.readInt();
      for (int i = 0; i < n; i++) {
        String k = in.readUTF();
        byte[] h = new byte[in.readInt()];
        in.readFully(h);
        s.histograms.put(k, Histogram.fromByteArray(h));
      }
      return s;
    } catch (IOException e) {
      throw new IllegalArgumentException("corrupt activation statistics", e);
    }
  }
}
