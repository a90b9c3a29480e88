package io.qspark.kernels.io;

import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * qspark's JSON: trees of maps, lists, strings, numbers, booleans and int and long arrays. Written here
 * with a fixed layout (insertion order, two-space indent, Java's shortest float repr), so that
 * equal trees give equal bytes, which the quant_info.json reproducibility promise rests on;
 * read with jackson-core's streaming parser into the same kinds of tree.
 */
public final class Json {
  private static final com.fasterxml.jackson.core.JsonFactory FACTORY = new com.fasterxml.jackson.core.JsonFactory();

  private Json() {}

  /** Objects as LinkedHashMap, arrays as List, integers as Long, other numbers as Double. */
  public static Object read(String text) {
    try (com.fasterxml.jackson.core.JsonParser p = FACTORY.createParser(text)) {
      p.nextToken();
      Object v = value(p);
      if (p.nextToken() != null) throw new IllegalArgumentException("trailing content after JSON value");
      return v;
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("not valid JSON: " + e.getMessage(), e);
    }
  }

  private static Object value(com.fasterxml.jackson.core.JsonParser p) throws java.io.IOException {
    com.fasterxml.jackson.core.JsonToken t = p.currentToken();
    if (t == null) throw new IllegalArgumentException("empty JSON");
    switch (t) {
      case START_OBJECT: {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
          String k = p.currentName();
          p.nextToken();
          m.put(k, value(p));
        }
        return m;
      }
      case START_ARRAY: {
        List<Object> l = new java.util.ArrayList<>();
        while (p.nextToken() != com.fasterxml.jackson.core.JsonToken.END_ARRAY) l.add(value(p));
        return l;
      }
      case VALUE_STRING: return p.getText();
      case VALUE_NUMBER_INT: return p.getLongValue();
      case VALUE_NUMBER_FLOAT: return p.getDoubleValue();
      case VALUE_TRUE: return Boolean.TRUE;
      case VALUE_FALSE: return Boolean.FALSE;
      case VALUE_NULL: return null;
      default: throw new IllegalArgumentException("unexpected JSON token " + t);
    }
  }

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
    } else if (v instanceof long[] a) { // counts (histograms) on one line, as int arrays
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
