package io.qspark.dpu;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Random single-field mutations of any protobuf message, by reflection: one field somewhere in
 * the tree (a repeated field counts once, however long) gets an extreme or foreign value, loses
 * or repeats an element, or is cleared. Each mutation says what it did, for failure messages.
 */
final class ProtoMutator {
  record Mutated(Message message, String what) {}

  private static final long[] INTS = {0, 1, -1, 2, 3, 4, 7, 8, 16, 17, 31, 32, 63, 64, 65, 127, 128, 255, 256, 65535, 65536,
      Integer.MAX_VALUE, Integer.MIN_VALUE, 1L << 31, 1L << 32, 1L << 40, Long.MAX_VALUE, Long.MIN_VALUE, -64, -65, -5, -2};
  private static final double[] REALS = {0.0, -0.0, 1.0, -1.0, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY,
      1e30, -1e30, 1e-30, 3.4e38, Float.MIN_VALUE, 0.5, 6.0};

  private final Random rnd;

  ProtoMutator(Random rnd) {
    this.rnd = rnd;
  }

  /** One path from the root to a field: message fields by (field, index or -1). */
  private record Step(FieldDescriptor field, int index) {}

  private record Site(List<Step> path, FieldDescriptor field) {}

  Mutated mutate(Message root) {
    List<Site> sites = new ArrayList<>();
    List<String> strings = new ArrayList<>();
    collect(root, new ArrayList<>(), sites, strings);
    if (sites.isEmpty()) return new Mutated(root, "nothing to mutate");
    Site s = sites.get(rnd.nextInt(sites.size()));
    String[] what = new String[1];
    Message m = apply(root, s.path(), 0, s.field(), strings, what);
    return new Mutated(m, describe(s) + ": " + what[0]);
  }

  private void collect(Message m, List<Step> path, List<Site> sites, List<String> strings) {
    for (FieldDescriptor f : m.getDescriptorForType().getFields()) {
      sites.add(new Site(List.copyOf(path), f));
      if (f.getJavaType() == FieldDescriptor.JavaType.STRING) {
        if (f.isRepeated()) {
          for (int i = 0; i < m.getRepeatedFieldCount(f); i++) strings.add((String) m.getRepeatedField(f, i));
        } else {
          strings.add((String) m.getField(f));
        }
      }
      if (f.getJavaType() != FieldDescriptor.JavaType.MESSAGE) continue;
      if (f.isRepeated()) {
        for (int i = 0; i < m.getRepeatedFieldCount(f); i++) {
          path.add(new Step(f, i));
          collect((Message) m.getRepeatedField(f, i), path, sites, strings);
          path.remove(path.size() - 1);
        }
      } else if (m.hasField(f)) {
        path.add(new Step(f, -1));
        collect((Message) m.getField(f), path, sites, strings);
        path.remove(path.size() - 1);
      }
    }
  }

  private Message apply(Message m, List<Step> path, int depth, FieldDescriptor f, List<String> strings, String[] what) {
    Message.Builder b = m.toBuilder();
    if (depth < path.size()) {
      Step st = path.get(depth);
      Message child = st.index() < 0 ? (Message) m.getField(st.field()) : (Message) m.getRepeatedField(st.field(), st.index());
      Message changed = apply(child, path, depth + 1, f, strings, what);
      if (st.index() < 0) b.setField(st.field(), changed);
      else b.setRepeatedField(st.field(), st.index(), changed);
      return b.build();
    }
    if (f.isRepeated()) {
      int n = m.getRepeatedFieldCount(f);
      int op = rnd.nextInt(n == 0 ? 1 : 5);
      if (n == 0 || op == 0) {
        if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
          if (n == 0) {
            b.addRepeatedField(f, b.newBuilderForField(f).build());
            what[0] = "added an empty element";
          } else {
            b.addRepeatedField(f, m.getRepeatedField(f, rnd.nextInt(n)));
            what[0] = "repeated an element at the end";
          }
        } else {
          Object v = value(f, n == 0 ? null : m.getRepeatedField(f, rnd.nextInt(n)), strings);
          b.addRepeatedField(f, v);
          what[0] = "added " + show(v);
        }
      } else if (op == 1) {
        List<Object> keep = new ArrayList<>();
        int drop = rnd.nextInt(n);
        for (int i = 0; i < n; i++) if (i != drop) keep.add(m.getRepeatedField(f, i));
        b.clearField(f);
        for (Object o : keep) b.addRepeatedField(f, o);
        what[0] = "removed element " + drop + " of " + n;
      } else if (op == 2) {
        b.clearField(f);
        what[0] = "cleared all " + n;
      } else if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
        int i = rnd.nextInt(n), j = rnd.nextInt(n);
        b.setRepeatedField(f, i, m.getRepeatedField(f, j));
        what[0] = "element " + i + " replaced by element " + j;
      } else {
        int i = rnd.nextInt(n);
        Object v = value(f, m.getRepeatedField(f, i), strings);
        b.setRepeatedField(f, i, v);
        what[0] = "element " + i + " of " + n + " set to " + show(v);
      }
      return b.build();
    }
    if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
      if (m.hasField(f) && rnd.nextBoolean()) {
        b.clearField(f);
        what[0] = "cleared";
      } else {
        b.setField(f, b.newBuilderForField(f).build());
        what[0] = "set to an empty message";
      }
      return b.build();
    }
    if (rnd.nextInt(8) == 0) {
      b.clearField(f);
      what[0] = "cleared";
      return b.build();
    }
    Object v = value(f, m.getField(f), strings);
    b.setField(f, v);
    what[0] = "set to " + show(v);
    return b.build();
  }

  private Object value(FieldDescriptor f, Object old, List<String> strings) {
    switch (f.getJavaType()) {
      case INT: {
        long v = near(old);
        return (int) v;
      }
      case LONG:
        return near(old);
      case FLOAT:
        return (float) real(old);
      case DOUBLE:
        return real(old);
      case BOOLEAN:
        return old == null ? Boolean.TRUE : !(Boolean) old;
      case STRING: {
        int k = rnd.nextInt(4);
        if (k == 0 || strings.isEmpty()) return "";
        if (k == 1) return "x\n\u0000\u00ff" + rnd.nextInt(100);
        return strings.get(rnd.nextInt(strings.size()));
      }
      case BYTE_STRING: {
        ByteString bs = old == null ? ByteString.EMPTY : (ByteString) old;
        byte[] a = bs.toByteArray();
        int k = rnd.nextInt(4);
        if (k == 0 || a.length == 0) return ByteString.copyFrom(new byte[rnd.nextInt(9)]);
        if (k == 1) return ByteString.copyFrom(a, 0, rnd.nextInt(a.length));
        if (k == 2) {
          a[rnd.nextInt(a.length)] ^= (byte) (1 << rnd.nextInt(8));
          return ByteString.copyFrom(a);
        }
        return bs.concat(bs);
      }
      case ENUM: {
        EnumDescriptor e = f.getEnumType();
        if (!e.isClosed() && rnd.nextInt(4) == 0) return e.findValueByNumberCreatingIfUnknown(50 + rnd.nextInt(50));
        List<EnumValueDescriptor> vs = e.getValues();
        return vs.get(rnd.nextInt(vs.size()));
      }
      default:
        throw new AssertionError(f.getJavaType());
    }
  }

  private long near(Object old) {
    long o = old == null ? 0 : ((Number) old).longValue();
    switch (rnd.nextInt(4)) {
      case 0: return o + (rnd.nextBoolean() ? 1 : -1);
      case 1: return -o;
      case 2: return o * 2 + rnd.nextInt(3);
      default: return INTS[rnd.nextInt(INTS.length)];
    }
  }

  private double real(Object old) {
    double o = old == null ? 0 : ((Number) old).doubleValue();
    switch (rnd.nextInt(3)) {
      case 0: return -o;
      case 1: return o * (1 + rnd.nextGaussian());
      default: return REALS[rnd.nextInt(REALS.length)];
    }
  }

  private static String show(Object v) {
    String s = v instanceof ByteString b ? b.size() + " bytes" : String.valueOf(v);
    return s.length() > 60 ? s.substring(0, 60) + "..." : s;
  }

  private static String describe(Site s) {
    StringBuilder b = new StringBuilder();
    for (Step st : s.path()) b.append(st.field().getName()).append(st.index() >= 0 ? "[" + st.index() + "]" : "").append('.');
    return b.append(s.field().getName()).toString();
  }

  /** Byte-level damage: bit flips, a truncation, bytes inserted or removed. */
  static String damage(byte[][] holder, Random rnd) {
    byte[] a = holder[0];
    if (a.length == 0) return "empty";
    switch (rnd.nextInt(4)) {
      case 0: {
        int flips = 1 + rnd.nextInt(4);
        for (int i = 0; i < flips; i++) a[rnd.nextInt(a.length)] ^= (byte) (1 << rnd.nextInt(8));
        return flips + " bit flips";
      }
      case 1: {
        int n = rnd.nextInt(a.length);
        holder[0] = java.util.Arrays.copyOf(a, n);
        return "truncated to " + n + " bytes";
      }
      case 2: {
        int at = rnd.nextInt(a.length), n = 1 + rnd.nextInt(8);
        byte[] r = new byte[a.length + n];
        System.arraycopy(a, 0, r, 0, at);
        for (int i = 0; i < n; i++) r[at + i] = (byte) rnd.nextInt(256);
        System.arraycopy(a, at, r, at + n, a.length - at);
        holder[0] = r;
        return n + " random bytes inserted at " + at;
      }
      default: {
        int at = rnd.nextInt(a.length), n = Math.min(a.length - at, 1 + rnd.nextInt(16));
        byte[] r = new byte[a.length - n];
        System.arraycopy(a, 0, r, 0, at);
        System.arraycopy(a, at + n, r, at, a.length - at - n);
        holder[0] = r;
        return n + " bytes removed at " + at;
      }
    }
  }
}
