package io.qspark.job.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.qspark.job.base.UserError;
import io.qspark.kernels.quant.LayerRule;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/**
 * Per-layer rules ({@link LayerRule}) from the command line and a config file's {@code layers:}
 * list: {@code --layers RULE} (a YAML mapping, or a list of them, as a {@code layers:} entry),
 * and the shorthands {@code --exclude-nodes REGEX} and {@code --exclude-op-types T,...}. With
 * {@code --layer-bits}, in this order: --layer-bits, --layers, --exclude-nodes,
 * --exclude-op-types, a later rule winning (docs/layers.md).
 */
final class LayerRuleOptions {
  static final String LAYERS = "--layers";

  @Option(names = LAYERS, paramLabel = "RULE", order = 34,
      description = "A per-layer rule as a YAML mapping (or a list of them), the form of a --conf file's layers: entries:"
          + " match (a regular expression of node names, :input, :first or :last) and/or op (an op type or a list), and any"
          + " of bits, weight_bits, activation_bits, bias_bits, method and exclude (true: the nodes stay float and deploy"
          + " runs them on the CPU). E.g. --layers '{op: Add, exclude: true}' --layers '{match: /fc/Gemm,"
          + " activation_bits: 16}'. Rules apply in order, a later one winning. See docs/layers.md.")
  List<String> layers = new ArrayList<>();

  @Option(names = "--exclude-nodes", paramLabel = "REGEX", order = 34,
      description = "Keep the nodes whose name (or output's) the regular expression matches whole in float; deploy runs them"
          + " on the CPU (needs --target). Repeatable. The same as --layers '{match: REGEX, exclude: true}'.")
  List<String> excludeNodes = new ArrayList<>();

  @Option(names = "--exclude-op-types", split = ",", paramLabel = "T", order = 34,
      description = "Keep every node of these op types (of the graph with BatchNorm folded and activations fused: Add,"
          + " Concat, Gemm, ...) in float; one rule per type, so a type the model lacks is an error.")
  List<String> excludeOpTypes = new ArrayList<>();

  /** The rules in their order, --layer-bits' first. */
  List<LayerRule> rules(List<String> layerBits) {
    List<LayerRule> r = new ArrayList<>(LayerRule.parseAll(layerBits));
    for (String s : layers) r.addAll(parse(s));
    for (String s : excludeNodes) r.add(LayerRule.exclude(s, List.of()));
    for (String t : excludeOpTypes) r.add(LayerRule.exclude(null, List.of(t.trim())));
    return r;
  }

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  /** A --layers value: one YAML mapping, or a list of them (a config file's layers: list arrives as its JSON text). */
  @SuppressWarnings("unchecked")
  static List<LayerRule> parse(String text) {
    Object v;
    try {
      v = YAML.readValue(text, Object.class);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("layer rule '" + text + "' is not a YAML mapping: "
          + Cli.oneLine(e.getOriginalMessage()));
    }
    List<Object> items = v instanceof List<?> l ? (List<Object>) l : java.util.Collections.singletonList(v);
    List<LayerRule> r = new ArrayList<>();
    for (Object o : items) {
      if (!(o instanceof Map<?, ?> m)) {
        throw new IllegalArgumentException("layer rule '" + text + "': expected a mapping such as {match: /fc/Gemm, bits: 8}");
      }
      r.add(LayerRule.of((Map<String, ?>) m));
    }
    return r;
  }

  /**
   * How --print-config shows --layers: a YAML block list, one flow mapping per rule, and as
   * comments every rule of the command in order with the label quant_info.json gives it.
   */
  static String effective(CommandSpec spec) {
    StringBuilder b = new StringBuilder();
    List<String> given = spec.findOption(LAYERS).getValue();
    List<LayerRule> own = new ArrayList<>();
    List<LayerRule> all;
    try {
      for (String s : given) own.addAll(parse(s));
      LayerRuleOptions self = find(spec);
      List<String> layerBits = spec.findOption("--layer-bits") == null ? List.of() : spec.findOption("--layer-bits").getValue();
      all = self == null ? own : self.rules(layerBits);
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage(), e);
    }
    if (own.isEmpty()) {
      b.append("# layers: (none)\n");
    } else {
      b.append("layers:\n");
      for (LayerRule r : own) b.append("  - ").append(r).append('\n');
    }
    if (!all.isEmpty()) {
      b.append("# every layer rule in order (a later one wins), as quant_info.json numbers them:\n");
      for (int i = 0; i < all.size(); i++) b.append("#   ").append(LayerRule.label(i)).append(' ').append(all.get(i)).append('\n');
    }
    return b.toString();
  }

  /** The instance among the command's mixins (nested ones too), or null. */
  private static LayerRuleOptions find(CommandSpec spec) {
    if (spec.userObject() instanceof LayerRuleOptions o) return o;
    for (CommandSpec m : spec.mixins().values()) {
      LayerRuleOptions o = find(m);
      if (o != null) return o;
    }
    return null;
  }
}
