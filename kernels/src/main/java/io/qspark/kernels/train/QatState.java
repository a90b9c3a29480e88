package io.qspark.kernels.train;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.LinkedHashMap;

/**
 * Everything a QAT run needs to continue exactly where it stopped, and what a checkpoint holds:
 * the step reached (the epoch, the shuffle and the learning rate follow from it and the seed),
 * whether BatchNorm is frozen and folded, the trainable parameters, BatchNorm's running
 * statistics, the optimizer's state, with TQT the log2 thresholds and their optimizer's state,
 * and the settings that must not change on resume.
 */
public final class QatState implements java.io.Serializable {
  private static final long serialVersionUID = 1L;
  private static final String MAGIC = "qspark-qat-checkpoint-1";

  long step;
  boolean frozen;
  final LinkedHashMap<String, float[]> params = new LinkedHashMap<>();
  final LinkedHashMap<String, float[]> running = new LinkedHashMap<>();
  final Optimizer optimizer;
  /** TQT's log2 thresholds in {@link TqtThresholds#points()} order, or null when fix_points stay fixed. */
  float[] logThresholds;
  /** Their optimizer: not reset at the freeze, when the weights' is (the points stay the same). */
  Optimizer thresholdOptimizer;
  /** What a resumed run must agree with (model digest, data size, batch, seed, ...), in words. */
  final String identity;

  QatState(Optimizer optimizer, String identity) {
    this.optimizer = optimizer;
    this.identity = identity;
  }

  public long step() {
    return step;
  }

  public boolean frozen() {
    return frozen;
  }

  /** The learned log2 thresholds (a copy), or null. */
  public float[] logThresholds() {
    return logThresholds == null ? null : logThresholds.clone();
  }

  public String identity() {
    return identity;
  }

  public byte[] toBytes() {
    try (ByteArrayOutputStream b = new ByteArrayOutputStream(); ObjectOutputStream o = new ObjectOutputStream(b)) {
      o.writeUTF(MAGIC);
      o.writeObject(this);
      o.flush();
      return b.toByteArray();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public static QatState fromBytes(byte[] bytes, String where) {
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes))) {
      if (!MAGIC.equals(in.readUTF())) throw new IllegalArgumentException(where + " is not a qspark QAT checkpoint");
      return (QatState) in.readObject();
    } catch (IOException | ClassNotFoundException | ClassCastException e) {
      throw new IllegalArgumentException(where + " is not a readable qspark QAT checkpoint: " + e.getMessage(), e);
    }
  }
}
