package io.qspark.dpu;

import com.google.protobuf.InvalidProtocolBufferException;
import io.qspark.dpu.proto.DeployProto.DeployModel;
import io.qspark.dpu.proto.DeployProto.Layer;
import io.qspark.dpu.proto.DeployProto.Op;
import io.qspark.dpu.proto.DeployProto.Value;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Reads and writes deploy_model.pb, refusing anything that is not a complete deploy model of
 * this version: wrong magic, another format_version, truncated bytes, a layer reading a value
 * nobody wrote, weights that do not fill their shape.
 */
public final class DeployFormat {
  public static final String MAGIC = "qspark-deploy";
  /** Bumped whenever a field changes meaning; readers accept exactly this version. */
  public static final int VERSION = 2;
  public static final String FILE = "deploy_model.pb";

  private DeployFormat() {}

  public static DeployModel read(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new DeployException("cannot read deploy model " + file + ": " + e.getMessage(), e);
    }
    return parse(bytes, file.toString());
  }

  public static DeployModel parse(byte[] bytes, String where) {
    DeployModel m;
    try {
      m = DeployModel.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new DeployException(where + " is not a qspark deploy model (corrupt or truncated protobuf: " + e.getMessage() + ")", e);
    }
    if (!MAGIC.equals(m.getMagic())) {
      throw new DeployException(where + " is not a qspark deploy model (magic '" + m.getMagic() + "')");
    }
    if (m.getFormatVersion() != VERSION) {
      throw new DeployException(where + " has deploy format version " + m.getFormatVersion() + "; this qspark reads version "
          + VERSION + " (redeploy the calibration with this qspark)");
    }
    check(m, where);
    return m;
  }

  /** Every reference resolves and every payload has its size, so the simulator need not check. */
  private static void check(DeployModel m, String where) {
    Map<String, Value> vs = new HashMap<>();
    for (Value v : m.getValuesList()) vs.put(v.getName(), v);
    java.util.Set<String> written = new java.util.HashSet<>(m.getInputsList());
    for (String in : m.getInputsList()) if (!vs.containsKey(in)) throw corrupt(where, "input '" + in + "' has no value");
    for (Layer l : m.getLayersList()) {
      String what = "layer '" + l.getName() + "'";
      if (l.getOp() == Op.OP_UNSPECIFIED || l.getOp() == Op.UNRECOGNIZED) throw corrupt(where, what + " has no known op");
      for (String in : l.getInputsList()) if (!written.contains(in)) throw corrupt(where, what + " reads '" + in + "' before it is written");
      if (!vs.containsKey(l.getOutput())) throw corrupt(where, what + " writes '" + l.getOutput() + "', which has no value");
      for (String o : l.getExtraOutputsList()) if (!vs.containsKey(o)) throw corrupt(where, what + " writes '" + o + "', which has no value");
      if (l.getExtraOutputsCount() > 0 && l.getOp() != Op.CPU) throw corrupt(where, what + " is not a CPU layer but has several outputs");
      if (l.getOp() == Op.ELTWISE_MUL && l.getInputsCount() != 2) throw corrupt(where, what + " multiplies " + l.getInputsCount() + " inputs, not 2");
      if (l.getOp() == Op.CONV || l.getOp() == Op.FC) {
        long n = 1;
        for (int d : l.getWeightShapeList()) n *= d;
        if (l.getWeightShapeCount() == 0 || n != l.getWeights().size()) throw corrupt(where, what + " has " + l.getWeights().size() + " weights for shape " + l.getWeightShapeList());
        if (l.getHasBias() && l.getBiasCount() != l.getWeightShape(0)) throw corrupt(where, what + " has " + l.getBiasCount() + " biases for " + l.getWeightShape(0) + " outputs");
        if (l.getHasBias()) checkBias(l, where, what);
      }
      if (l.getOp() == Op.CONV || l.getOp() == Op.MAX_POOL || l.getOp() == Op.AVG_POOL) {
        if (l.getKernelCount() != 2 || l.getStridesCount() != 2 || l.getPadsCount() != 4 || l.getDilationsCount() != 2) {
          throw corrupt(where, what + " has incomplete window geometry");
        }
      }
      if (l.getOp() == Op.ELTWISE_ADD && l.getInputShiftsCount() != l.getInputsCount()) throw corrupt(where, what + " has no shift per input");
      if (l.getOp() == Op.CPU && l.getOnnxModel().isEmpty()) throw corrupt(where, what + " is a CPU layer without its model");
      written.add(l.getOutput());
      written.addAll(l.getExtraOutputsList());
    }
    for (String o : m.getOutputsList()) if (!written.contains(o)) throw corrupt(where, "output '" + o + "' is never written");
    if (m.getBatchChunk() < 0) throw corrupt(where, "batch chunk " + m.getBatchChunk());
  }

  /** Biases are integers of bias_bits (when recorded: 0 in files from before it was). */
  private static void checkBias(Layer l, String where, String what) {
    int bits = l.getBiasBits();
    if (bits == 0) return;
    if (bits < 2 || bits > 32) throw corrupt(where, what + " has " + bits + "-bit biases");
    long lo = -(1L << (bits - 1)), hi = (1L << (bits - 1)) - 1;
    for (int b : l.getBiasList()) {
      if (b < lo || b > hi) throw corrupt(where, what + " has bias " + b + " outside its " + bits + " bits");
    }
  }

  private static DeployException corrupt(String where, String what) {
    return new DeployException(where + " is a corrupt deploy model: " + what);
  }
}
