package io.qspark.job.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.qspark.job.base.UserError;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * A `--conf` YAML file: option values by long name without the dashes (`method: mse`,
 * `mean: [72.94]`), for the command that runs. A section named after a command (`calibrate:`)
 * holds values for that command only and wins over top-level keys; sections of other commands
 * are ignored, so one file can drive a whole pipeline. Values from the file act as defaults:
 * a flag on the command line overrides them. A key that is not an option of the command is an
 * error, listing every such key: a misspelt key must not silently fall back to a default.
 */
final class ConfigFile {
  private final Path path;
  private final Map<String, String> values;

  private ConfigFile(Path path, Map<String, String> values) {
    this.path = path;
    this.values = values;
  }

  /** The values for {@code command}, checked against its options. */
  static ConfigFile load(Path path, CommandLine command, Set<String> commandNames) {
    JsonNode root;
    try {
      root = new ObjectMapper(new YAMLFactory()).readTree(Files.readString(path));
    } catch (java.nio.file.NoSuchFileException e) {
      throw new UserError("--conf " + path + ": no such file");
    } catch (IOException e) {
      throw new UserError("--conf " + path + ": not a readable YAML file: " + Cli.oneLine(e.getMessage()), e);
    }
    if (root == null || root.isMissingNode() || root.isNull()) return new ConfigFile(path, Map.of());
    if (!root.isObject()) throw new UserError("--conf " + path + ": expected a mapping of option names to values");
    CommandSpec spec = command.getCommandSpec();
    String name = spec.name();
    Map<String, String> values = new LinkedHashMap<>();
    List<String> unknown = new ArrayList<>();
    collect(path, root, spec, commandNames, values, unknown, "");
    JsonNode own = root.get(name);
    if (own != null) {
      if (!own.isObject()) throw new UserError("--conf " + path + ": section '" + name + "' must be a mapping");
      collect(path, own, spec, Set.of(), values, unknown, name + ".");
    }
    if (!unknown.isEmpty()) {
      throw new UserError("--conf " + path + ": not options of '" + spec.qualifiedName() + "': "
          + String.join(", ", unknown) + " (see " + spec.qualifiedName() + " --help)");
    }
    return new ConfigFile(path, values);
  }

  private static void collect(Path path, JsonNode node, CommandSpec spec, Set<String> sections,
      Map<String, String> values, List<String> unknown, String prefix) {
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext();) {
      Map.Entry<String, JsonNode> e = it.next();
      String key = e.getKey();
      if (sections.contains(key)) continue;
      OptionSpec option = spec.findOption("--" + key);
      if (option == null || !option.longestName().equals("--" + key) || key.equals("conf")) {
        unknown.add(prefix + key);
        continue;
      }
      // an empty list is the same as leaving the option out (picocli would read one empty value)
      if (e.getValue().isArray() && e.getValue().isEmpty()) continue;
      values.put(option.longestName(), text(path, prefix + key, e.getValue(), option));
    }
  }

  /** The value as the command line would spell it. */
  private static String text(Path path, String key, JsonNode v, OptionSpec option) {
    // a list of mappings (layers: rules) is one value, its JSON text, which the option parses
    if (v.isArray() && v.size() > 0 && v.get(0).isObject()) return v.toString();
    if (v.isArray()) {
      String sep = option.splitRegex().isEmpty() ? "," : option.splitRegex().replace("\\", "");
      List<String> parts = new ArrayList<>();
      for (JsonNode x : v) {
        if (x.isContainerNode()) throw new UserError("--conf " + path + ": " + key + ": nested lists are not option values");
        parts.add(x.asText());
      }
      return String.join(sep, parts);
    }
    if (v.isContainerNode()) throw new UserError("--conf " + path + ": " + key + ": expected a value or a list");
    if (v.isNull()) throw new UserError("--conf " + path + ": " + key + ": empty value");
    return v.asText();
  }

  /** Defaults for the command line: the file's value where it has one, else the option's own. */
  CommandLine.IDefaultValueProvider provider() {
    return arg -> {
      if (arg instanceof OptionSpec o && values.containsKey(o.longestName())) return values.get(o.longestName());
      return arg.defaultValue();
    };
  }

  /** Options that steer the tool rather than the job: not part of a config. */
  private static final Set<String> NOT_CONFIG = Set.of("--help", "--version", "--verbose", "--conf", "--print-config");

  /**
   * The command's effective settings as a config file would spell them (flags, then --conf,
   * then built-in defaults), readable back with --conf; unset options are listed as comments.
   */
  static String effective(CommandSpec spec, ConfigFile from) {
    StringBuilder b = new StringBuilder("# effective settings of '").append(spec.qualifiedName()).append("'");
    if (from != null) b.append(", with --conf ").append(from.path);
    b.append("\n");
    for (OptionSpec o : spec.options()) {
      String name = o.longestName();
      if (NOT_CONFIG.contains(name) || o.hidden()) continue;
      if (name.equals(LayerRuleOptions.LAYERS)) {
        b.append(LayerRuleOptions.effective(spec));
        continue;
      }
      Object v = o.getValue();
      String key = name.substring(2);
      if (v == null) {
        b.append("# ").append(key).append(": (not set)\n");
      } else if (v instanceof java.util.Collection<?> c) {
        b.append(key).append(": [");
        int i = 0;
        for (Object x : c) b.append(i++ == 0 ? "" : ", ").append(scalar(x));
        b.append("]\n");
      } else if (v.getClass().isArray()) {
        b.append(key).append(": [");
        int n = java.lang.reflect.Array.getLength(v);
        for (int i = 0; i < n; i++) b.append(i == 0 ? "" : ", ").append(scalar(java.lang.reflect.Array.get(v, i)));
        b.append("]\n");
      } else {
        b.append(key).append(": ").append(scalar(v)).append("\n");
      }
    }
    return b.toString();
  }

  private static String scalar(Object x) {
    String s = String.valueOf(x);
    boolean plain = s.matches("[A-Za-z0-9_./:\\[\\]*+-]+") && !s.matches("(?i)yes|no|on|off|null|~");
    return plain ? s : "'" + s.replace("'", "''") + "'";
  }

  Path path() {
    return path;
  }

  Map<String, String> values() {
    return values;
  }
}
