package io.qspark.kernels.quant;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A per-layer width rule: the nodes it matches quantize their weights, biases and outputs at
 * these widths instead of the config's (0: the config's). Rules apply in order, a later one
 * winning where two match the same thing, so a list reads as "everything at 4 bits, then these
 * at 8". A general per-layer rule (a YAML {@code layers:} list with {@code match},
 * {@code weight_bits}, {@code activation_bits}, {@code bias_bits}) maps onto this record field
 * for field.
 *
 * <p>{@code match} is one of
 * <ul>
 *   <li>{@code :input}: the network inputs (their quantization point: only the activation width applies);</li>
 *   <li>{@code :first}: the layers (Conv, Gemm, MatMul, ConvTranspose) that read a network input;</li>
 *   <li>{@code :last}: the nodes that write a network output's quantization point (the last
 *       Gemm of a classifier; a conv whose output only reshapes on its way out);</li>
 *   <li>a regular expression matched against the whole name of a node or of one of its output
 *       tensors, or of a network input.</li>
 * </ul>
 * A node's rule sets its weight and bias widths and the activation width of each point its
 * outputs belong to (a point shared by several writers, as a Concat's, takes the last rule
 * matching any of them).
 */
public record LayerBits(String match, int weightBits, int activationBits, int biasBits) implements java.io.Serializable {
  public static final String INPUT = ":input", FIRST = ":first", LAST = ":last";

  public LayerBits {
    java.util.Objects.requireNonNull(match, "match");
    if (match.isEmpty()) throw new IllegalArgumentException("a layer width rule needs a match");
    if (match.startsWith(":") && !List.of(INPUT, FIRST, LAST).contains(match)) {
      throw new IllegalArgumentException("unknown layer selector '" + match + "' (" + INPUT + ", " + FIRST + ", " + LAST
          + ", or a regular expression of node names)");
    }
    if (!match.startsWith(":")) {
      try {
        Pattern.compile(match);
      } catch (PatternSyntaxException e) {
        throw new IllegalArgumentException("layer match '" + match + "' is not a regular expression: " + e.getDescription());
      }
    }
    check("weight", weightBits);
    check("activation", activationBits);
    check("bias", biasBits);
    if (weightBits == 0 && activationBits == 0 && biasBits == 0) {
      throw new IllegalArgumentException("layer width rule '" + match + "' sets no width");
    }
  }

  private static void check(String what, int bits) {
    if (bits != 0 && (bits < FixPoint.MIN_BITS || bits > FixPoint.MAX_BITS)) {
      throw new IllegalArgumentException(what + " bit width " + bits + " outside " + FixPoint.MIN_BITS + ".." + FixPoint.MAX_BITS);
    }
  }

  /**
   * {@code MATCH=B} (every width B) or {@code MATCH=W,A,B} (weights, activations, biases; an
   * empty field keeps the config's), as the command line's --layer-bits gives it. The match is
   * everything before the last '='.
   */
  public static LayerBits parse(String s) {
    int eq = s.lastIndexOf('=');
    if (eq <= 0) throw new IllegalArgumentException("layer widths '" + s + "': expected MATCH=B or MATCH=W,A,B");
    String match = s.substring(0, eq);
    String[] f = s.substring(eq + 1).split(",", -1);
    if (f.length != 1 && f.length != 3) throw new IllegalArgumentException("layer widths '" + s + "': expected MATCH=B or MATCH=W,A,B");
    int[] b = new int[3];
    for (int i = 0; i < 3; i++) {
      String v = f[f.length == 1 ? 0 : i].trim();
      try {
        b[i] = v.isEmpty() ? 0 : Integer.parseInt(v);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("layer widths '" + s + "': '" + v + "' is not a bit width");
      }
    }
    return new LayerBits(match, b[0], b[1], b[2]);
  }

  /** The command-line form, {@link #parse}'s inverse. */
  @Override
  public String toString() {
    if (weightBits == activationBits && activationBits == biasBits) return match + "=" + weightBits;
    return match + "=" + field(weightBits) + "," + field(activationBits) + "," + field(biasBits);
  }

  private static String field(int b) {
    return b == 0 ? "" : Integer.toString(b);
  }

  public static List<LayerBits> parseAll(List<String> specs) {
    List<LayerBits> r = new ArrayList<>();
    for (String s : specs) r.add(parse(s));
    return r;
  }
}
