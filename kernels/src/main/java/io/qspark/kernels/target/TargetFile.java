package io.qspark.kernels.target;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads a target description (conf/targets/*.yaml) strictly: every key must be known and every
 * value well-formed, because a misspelt limit silently read as "no limit" would put ops on the
 * DPU that the device cannot run. All problems of a file are reported at once, naming the file
 * and the key.
 */
final class TargetFile {
  private static final YAMLMapper YAML = YAMLMapper.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
  private static final Set<String> TOP = Set.of("name", "description", "source", "channel_parallel",
      "bank_depth", "bit_widths", "bias_bits", "ops");
  private static final Set<String> REQUIRED = Set.of("name", "channel_parallel", "bank_depth", "bit_widths", "ops");

  private final String file;
  private final List<String> problems = new ArrayList<>();

  private TargetFile(String file) {
    this.file = file;
  }

  static DpuTarget parse(String text, String file) {
    return new TargetFile(file).read(text);
  }

  private DpuTarget read(String text) {
    JsonNode root;
    try {
      root = YAML.readTree(text);
    } catch (JacksonException e) {
      throw new TargetException(file + ": not valid YAML: " + e.getOriginalMessage()
          + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")"), e);
    }
    if (root == null || !root.isObject()) throw new TargetException(file + ": expected a mapping of target keys, got "
        + (root == null ? "an empty file" : root.getNodeType().toString().toLowerCase()));
    keys(root, "", TOP, REQUIRED);
    String name = string(root, "name");
    String description = root.has("description") ? string(root, "description") : "";
    String source = root.has("source") ? string(root, "source") : "";
    int channelParallel = positive(root, "channel_parallel", "");
    int bankDepth = positive(root, "bank_depth", "");
    List<Integer> bits = bitWidths(root.get("bit_widths"));
    int biasBits = biasBits(root.get("bias_bits"), bits);
    Map<OpClass, OpLimits> ops = new EnumMap<>(OpClass.class);
    JsonNode opsNode = root.get("ops");
    if (opsNode != null && !opsNode.isObject()) {
      problems.add("ops: expected a mapping of op classes (" + classKeys() + ")");
    } else if (opsNode != null) {
      for (Iterator<Map.Entry<String, JsonNode>> it = opsNode.fields(); it.hasNext();) {
        Map.Entry<String, JsonNode> e = it.next();
        OpClass c = OpClass.ofKey(e.getKey());
        if (c == null) {
          problems.add("unknown key 'ops." + e.getKey() + "' (op classes: " + classKeys() + ")");
          continue;
        }
        OpLimits l = limits(c, e.getValue());
        if (l != null) ops.put(c, l);
      }
    }
    if (!problems.isEmpty()) throw new TargetException(file + ": " + String.join("; ", problems));
    return new DpuTarget(name, description, source, file, new DpuTarget.Datapath(channelParallel, bankDepth, bits, biasBits),
        ops);
  }

  private OpLimits limits(OpClass c, JsonNode n) {
    String at = "ops." + c.key();
    if (n == null || n.isNull()) n = YAML.createObjectNode();
    if (!n.isObject()) {
      problems.add(at + ": expected a mapping of limits (" + String.join(", ", new TreeSet<>(c.limitKeys())) + "), or {}");
      return null;
    }
    Set<String> required = new LinkedHashSet<>(c.limitKeys());
    required.removeAll(Set.of("activations", "grouped", "square"));
    keys(n, at + ".", c.limitKeys(), required);
    OpLimits.Range kernel = n.has("kernel") ? range(n, "kernel", at) : null;
    OpLimits.Range stride = n.has("stride") ? range(n, "stride", at) : null;
    int maxChannels = n.has("max_channels") ? positive(n, "max_channels", at + ".") : 0;
    int maxInputs = n.has("max_inputs") ? positive(n, "max_inputs", at + ".") : 0;
    if (n.has("max_inputs") && maxInputs == 1) problems.add(at + ".max_inputs: an eltwise op has at least 2 inputs, got 1");
    Set<String> acts = n.has("activations") ? activations(n.get("activations"), at + ".activations") : Set.of();
    boolean grouped = n.has("grouped") && bool(n, "grouped", at);
    boolean square = n.has("square") && bool(n, "square", at);
    return new OpLimits(kernel, stride, maxChannels, acts, grouped, square, maxInputs);
  }

  private void keys(JsonNode n, String prefix, Set<String> known, Set<String> required) {
    for (Iterator<String> it = n.fieldNames(); it.hasNext();) {
      String k = it.next();
      if (!known.contains(k)) {
        problems.add("unknown key '" + prefix + k + "'" + (known.isEmpty() ? " (" + prefix.substring(0, prefix.length() - 1)
            + " takes no limits: write {})" : " (known: " + String.join(", ", new TreeSet<>(known)) + ")"));
      }
    }
    for (String k : new TreeSet<>(required)) if (!n.has(k)) problems.add("missing key '" + prefix + k + "'");
  }

  private String string(JsonNode n, String key) {
    JsonNode v = n.get(key);
    if (v == null) return "";
    if (!v.isTextual() || v.asText().isBlank()) {
      problems.add(key + ": expected a non-empty string, got " + v);
      return "";
    }
    return v.asText();
  }

  private int positive(JsonNode n, String key, String prefix) {
    JsonNode v = n.get(key);
    if (v == null) return 0;
    if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 1) {
      problems.add(prefix + key + ": expected a positive integer, got " + v);
      return 0;
    }
    return v.asInt();
  }

  private boolean bool(JsonNode n, String key, String at) {
    JsonNode v = n.get(key);
    if (!v.isBoolean()) {
      problems.add(at + "." + key + ": expected true or false, got " + v);
      return false;
    }
    return v.asBoolean();
  }

  private OpLimits.Range range(JsonNode n, String key, String at) {
    JsonNode v = n.get(key);
    boolean ok = v.isArray() && v.size() == 2 && v.get(0).isIntegralNumber() && v.get(1).isIntegralNumber()
        && v.get(0).canConvertToInt() && v.get(1).canConvertToInt()
        && v.get(0).asInt() >= 1 && v.get(0).asInt() <= v.get(1).asInt();
    if (!ok) {
      problems.add(at + "." + key + ": expected [min, max] with 1 <= min <= max, got " + v);
      return null;
    }
    return new OpLimits.Range(v.get(0).asInt(), v.get(1).asInt());
  }

  private Set<String> activations(JsonNode v, String at) {
    if (!v.isArray()) {
      problems.add(at + ": expected a list of " + String.join(", ", new TreeSet<>(OpLimits.ACTIVATIONS)) + ", got " + v);
      return Set.of();
    }
    Set<String> r = new LinkedHashSet<>();
    for (JsonNode a : v) {
      if (!a.isTextual() || !OpLimits.ACTIVATIONS.contains(a.asText())) {
        problems.add(at + ": unknown activation " + a + " (known: " + String.join(", ", new TreeSet<>(OpLimits.ACTIVATIONS)) + ")");
      } else {
        r.add(a.asText());
      }
    }
    return r;
  }

  private List<Integer> bitWidths(JsonNode v) {
    List<Integer> r = new ArrayList<>();
    if (v == null) return r;
    if (!v.isArray() || v.isEmpty()) {
      problems.add("bit_widths: expected a non-empty list of integers in [2, 16], got " + v);
      return r;
    }
    for (JsonNode b : v) {
      if (!b.isIntegralNumber() || b.asInt() < 2 || b.asInt() > 16) {
        problems.add("bit_widths: expected integers in [2, 16], got " + b);
      } else {
        r.add(b.asInt());
      }
    }
    return r;
  }

  /** The widest bias; without the key, the widest of bit_widths. */
  private int biasBits(JsonNode v, List<Integer> bits) {
    if (v == null) return bits.isEmpty() ? 0 : java.util.Collections.max(bits);
    if (!v.isIntegralNumber() || v.asInt() < 2 || v.asInt() > 32) {
      problems.add("bias_bits: expected an integer in [2, 32], got " + v);
      return 0;
    }
    return v.asInt();
  }

  private static String classKeys() {
    List<String> k = new ArrayList<>();
    for (OpClass c : OpClass.values()) k.add(c.key());
    return String.join(", ", k);
  }
}
