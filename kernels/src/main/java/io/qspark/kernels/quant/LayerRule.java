package io.qspark.kernels.quant;

import io.qspark.kernels.graph.Node;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A per-layer setting: the nodes it matches quantize at its widths (0: the config's), choose
 * their output fix_points by its method (null: the config's), and with {@code exclude} stay
 * float (deploy runs them as CPU layers: dequantized inputs, float compute with float weights,
 * the output quantized at its fix_point). Rules apply in order over the config, a later one
 * winning where two set the same thing, so a list reads as "everything at 4 bits, then these at
 * 8, and the Adds in float". The YAML form, one entry of a config's {@code layers:} list, is
 * {@link #of(Map)}'s; the command line's {@code --layer-bits MATCH=B} is {@link #parse}'s.
 *
 * <p>A rule selects nodes by {@code match}, by {@code ops} (op types of the inference graph:
 * BatchNorm folded, activations fused), or by both (then both must hold). {@code match} is one of
 * <ul>
 *   <li>{@code :input}: the network inputs (their quantization point: only the activation width
 *       and method apply);</li>
 *   <li>{@code :first}: the layers (Conv, Gemm, MatMul, ConvTranspose) that read a network input;</li>
 *   <li>{@code :last}: the nodes that write a network output's quantization point (the last
 *       Gemm of a classifier; a conv whose output only reshapes on its way out);</li>
 *   <li>a regular expression matched against the whole name of a node or of one of its output
 *       tensors, or of a network input.</li>
 * </ul>
 * A node's rule sets its weight and bias widths and the activation width and method of each
 * point its outputs belong to (a point shared by several writers, as a Concat's, takes the last
 * rule matching any of them).
 *
 * @param match a selector or regular expression, or null to select by op type only
 * @param ops op types, any of which selects a node (empty: any op)
 * @param method how the matched outputs' fix_points are chosen, or null
 * @param exclude true: the matched nodes stay float; false: they are quantized again (undoing an
 *     earlier rule); null: as earlier rules say
 */
public record LayerRule(String match, List<String> ops, int weightBits, int activationBits, int biasBits,
    Method method, Boolean exclude) implements java.io.Serializable {
  public static final String INPUT = ":input", FIRST = ":first", LAST = ":last";
  /** The keys of a rule's map form, in the order {@link #toMap} writes them. */
  public static final List<String> KEYS = List.of("match", "op", "bits", "weight_bits", "activation_bits", "bias_bits",
      "method", "exclude");

  public LayerRule {
    ops = List.copyOf(ops);
    if (match != null && match.isEmpty()) throw new IllegalArgumentException("layer rule " + form(match, ops) + ": empty match");
    if (match == null && ops.isEmpty()) {
      throw new IllegalArgumentException("layer rule " + form(match, ops) + ": needs a match (a regular expression of node"
          + " names, :input, :first or :last) or an op type");
    }
    if (match != null && match.startsWith(":") && !List.of(INPUT, FIRST, LAST).contains(match)) {
      throw new IllegalArgumentException("unknown layer selector '" + match + "' (" + INPUT + ", " + FIRST + ", " + LAST
          + ", or a regular expression of node names)");
    }
    if (match != null && !match.startsWith(":")) {
      try {
        Pattern.compile(match);
      } catch (PatternSyntaxException e) {
        throw new IllegalArgumentException("layer match '" + match + "' is not a regular expression: " + e.getDescription());
      }
    }
    for (String op : ops) {
      if (!op.matches("[A-Za-z][A-Za-z0-9_]*")) throw new IllegalArgumentException("layer rule: '" + op + "' is not an op type");
    }
    String self = form(match, ops);
    if (INPUT.equals(match) && !ops.isEmpty()) throw new IllegalArgumentException("layer rule " + self + ": the input has no op type");
    if (INPUT.equals(match) && Boolean.TRUE.equals(exclude)) {
      throw new IllegalArgumentException("layer rule " + self + ": the network input is not a node; exclude applies to nodes");
    }
    check(self, "weight", weightBits);
    check(self, "activation", activationBits);
    check(self, "bias", biasBits);
    if (weightBits == 0 && activationBits == 0 && biasBits == 0 && method == null && exclude == null) {
      throw new IllegalArgumentException("layer rule " + self + " sets nothing (bits, weight_bits, activation_bits,"
          + " bias_bits, method or exclude)");
    }
  }

  private static void check(String rule, String what, int bits) {
    if (bits != 0 && (bits < FixPoint.MIN_BITS || bits > FixPoint.MAX_BITS)) {
      throw new IllegalArgumentException("layer rule " + rule + ": " + what + " bit width " + bits + " outside "
          + FixPoint.MIN_BITS + ".." + FixPoint.MAX_BITS);
    }
  }

  /** A width rule: weights, activations, biases (0: the config's). */
  public static LayerRule bits(String match, int weightBits, int activationBits, int biasBits) {
    return new LayerRule(match, List.of(), weightBits, activationBits, biasBits, null, null);
  }

  /** Keeps the matched nodes in float. */
  public static LayerRule exclude(String match, List<String> ops) {
    return new LayerRule(match, ops, 0, 0, 0, null, Boolean.TRUE);
  }

  /**
   * {@code MATCH=B} (every width B) or {@code MATCH=W,A,B} (weights, activations, biases; an
   * empty field keeps the config's), as the command line's --layer-bits gives it. The match is
   * everything before the last '='.
   */
  public static LayerRule parse(String s) {
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
    return bits(match, b[0], b[1], b[2]);
  }

  public static List<LayerRule> parseAll(List<String> specs) {
    List<LayerRule> r = new ArrayList<>();
    for (String s : specs) r.add(parse(s));
    return r;
  }

  /**
   * A rule from its map form (a YAML {@code layers:} entry, a quant_info.json rule): {@code match}
   * (string), {@code op} (an op type or a list of them), {@code bits} (weights, activations and
   * biases alike, under the three keys that follow), {@code weight_bits}, {@code activation_bits},
   * {@code bias_bits}, {@code method} (maxmin, percentile, mse, entropy), {@code exclude} (boolean).
   * An unknown key is an error, so a misspelt one cannot be ignored.
   */
  public static LayerRule of(Map<String, ?> m) {
    String shown = m.toString();
    List<String> unknown = new ArrayList<>();
    for (String k : m.keySet()) if (!KEYS.contains(k)) unknown.add(k);
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException("layer rule " + shown + ": unknown key" + (unknown.size() > 1 ? "s " : " ")
          + String.join(", ", unknown) + " (" + String.join(", ", KEYS) + ")");
    }
    Object match = m.get("match");
    if (match != null && !(match instanceof String)) throw new IllegalArgumentException("layer rule " + shown + ": match must be a string");
    List<String> ops = new ArrayList<>();
    Object op = m.get("op");
    if (op instanceof List<?> l) {
      for (Object x : l) ops.add(String.valueOf(x));
    } else if (op != null) {
      ops.add(String.valueOf(op));
    }
    if (match == null && ops.isEmpty()) {
      throw new IllegalArgumentException("layer rule " + shown + ": needs a match (a regular expression of node names,"
          + " :input, :first or :last) or an op type");
    }
    int all = width(m, "bits", shown);
    int w = m.containsKey("weight_bits") ? width(m, "weight_bits", shown) : all;
    int a = m.containsKey("activation_bits") ? width(m, "activation_bits", shown) : all;
    int b = m.containsKey("bias_bits") ? width(m, "bias_bits", shown) : all;
    Method method = m.get("method") == null ? null : Method.parse(String.valueOf(m.get("method")));
    Object ex = m.get("exclude");
    if (ex != null && !(ex instanceof Boolean)) throw new IllegalArgumentException("layer rule " + shown + ": exclude must be true or false");
    return new LayerRule((String) match, ops, w, a, b, method, (Boolean) ex);
  }

  private static int width(Map<String, ?> m, String key, String shown) {
    Object v = m.get(key);
    if (v == null) return 0;
    if (v instanceof Number n && n.doubleValue() == n.intValue()) {
      if (n.intValue() == 0) throw new IllegalArgumentException("layer rule " + shown + ": " + key + " 0 is not a bit width");
      return n.intValue();
    }
    throw new IllegalArgumentException("layer rule " + shown + ": " + key + " '" + v + "' is not a bit width");
  }

  /** The map form, {@link #of(Map)}'s inverse: only the keys that are set. */
  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    if (match != null) m.put("match", match);
    if (ops.size() == 1) m.put("op", ops.get(0));
    else if (!ops.isEmpty()) m.put("op", new ArrayList<Object>(ops));
    if (weightBits != 0) m.put("weight_bits", weightBits);
    if (activationBits != 0) m.put("activation_bits", activationBits);
    if (biasBits != 0) m.put("bias_bits", biasBits);
    if (method != null) m.put("method", method.key());
    if (exclude != null) m.put("exclude", exclude);
    return m;
  }

  /** The map form as a YAML flow mapping ({@code {match: '/fc/Gemm', activation_bits: 16}}), readable back as YAML. */
  @Override
  public String toString() {
    StringBuilder b = new StringBuilder("{");
    for (Map.Entry<String, Object> e : toMap().entrySet()) {
      if (b.length() > 1) b.append(", ");
      b.append(e.getKey()).append(": ");
      if (e.getValue() instanceof List<?> l) {
        b.append('[');
        for (int i = 0; i < l.size(); i++) b.append(i == 0 ? "" : ", ").append(l.get(i));
        b.append(']');
      } else if (e.getKey().equals("match")) {
        b.append('\'').append(((String) e.getValue()).replace("'", "''")).append('\'');
      } else {
        b.append(e.getValue());
      }
    }
    return b.append('}').toString();
  }

  private static String form(String match, List<String> ops) {
    Map<String, Object> m = new LinkedHashMap<>();
    if (match != null) m.put("match", match);
    if (!ops.isEmpty()) m.put("op", ops.size() == 1 ? ops.get(0) : ops);
    return m.toString();
  }

  /** How errors and quant_info.json name the rule at {@code index} of a config's list: {@code layers[2] {...}}. */
  public static String label(int index) {
    return "layers[" + index + "]";
  }

  /**
   * Whether the rule selects node {@code n}; {@code first}/{@code last}: whether the node is one
   * {@link #FIRST}/{@link #LAST} stand for.
   */
  public boolean matches(Node n, boolean first, boolean last) {
    if (!ops.isEmpty() && !ops.contains(n.opType())) return false;
    if (match == null) return true;
    switch (match) {
      case INPUT: return false;
      case FIRST: return first;
      case LAST: return last;
      default:
        if (n.name().matches(match)) return true;
        for (String o : n.outputs()) if (!o.isEmpty() && o.matches(match)) return true;
        return false;
    }
  }

  /** Whether the rule selects the network input {@code name}. */
  public boolean matchesInput(String name) {
    if (!ops.isEmpty() || match == null) return false;
    if (match.equals(INPUT)) return true;
    return !match.startsWith(":") && name.matches(match);
  }

  /** Whether the rule sets anything of an activation point (its width or method). */
  boolean setsActivation() {
    return activationBits != 0 || method != null;
  }
}
