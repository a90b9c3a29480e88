package io.qspark.job.report;

import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Writes a tree of maps, lists, strings, numbers, booleans and int arrays as indented JSON.
 * Our reports need no more, and no JSON library keeps the shaded jar clear of the cluster's
 * Jackson (see job/pom.xml).
 */
public final class Json {
  private Json() {}

  public static String write(Object value) {
    StringBuilder b = new StringBuilder();
    write(b, value, "");
    return b.append('\n').toString();
  }

  private static void write(StringBuilder b, Object v, String indent) {
    if (v == null) {
      b.append("null");
    } else if (v instanceof String s) {
      string(b, s);
    } else if (v instanceof Double d && !Double.isFinite(d) || v instanceof Float f && !Float.isFinite(f)) {
      b.append("null"); // JSON has no NaN or infinity
    } else if (v instanceof Number || v instanceof Boolean) {
      b.append(v);
    } else if (v instanceof int[] a) {
      b.append('[');
      for (int i = 0; i < a.length; i++) b.append(i > 0 ? ", " : "").append(a[i]);
      b.append(']');
    } else if (v instanceof Map<?, ?> m) {
      if (m.isEmpty()) {
        b.append("{}");
        return;
      }
      String in = indent + "  ";
      b.append("{\n");
      Iterator<? extends Map.Entry<?, ?>> it = m.entrySet().iterator();
      while (it.hasNext()) {
        Map.Entry<?, ?> e = it.next();
        b.append(in);
        string(b, String.valueOf(e.getKey()));
        b.append(": ");
        write(b, e.getValue(), in);
        b.append(it.hasNext() ? ",\n" : "\n");
      }
      b.append(indent).append('}');
    } else if (v instanceof List<?> l) {
      if (l.isEmpty()) {
        b.append("[]");
        return;
      }
      String in = indent + "  ";
      b.append("[\n");
      for (int i = 0; i < l.size(); i++) {
        b.append(in);
        write(b, l.get(i), in);
        b.append(i < l.size() - 1 ? ",\n" : "\n");
      }
      b.append(indent).append(']');
    } else {
      throw new IllegalArgumentException("no JSON form for " + v.getClass().getName());
    }
  }

  private static void string(StringBuilder b, String s) {
    b.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"': b.append("\\\""); break;
        case '\\': b.append("\\\\"); break;
        case '\n': b.append("\\n"); break;
        case '\r': b.append("\\r"); break;
        case '\t': b.append("\\t"); break;
        default:
          if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
          else b.append(c);
      }
    }
    b.append('"');
  }
}
