package io.qspark.dpu;

import io.qspark.dpu.proto.DeployProto.DeployModel;
import io.qspark.dpu.proto.DeployProto.Layer;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.exec.TensorObserver;
import io.qspark.kernels.io.Json;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Golden per-layer dumps: every deploy layer's output for the first images, as the simulator
 * computes it (bit-exact with fake-quant), in a layout a board's dump or another tool's can be
 * converted to and compared with layer by layer ({@link DumpComparison}). The layout is
 * documented in dpu-sim/README.md ("Golden dumps"):
 * <pre>
 *   dump.json                                  the index (format, model sha256, layers, images)
 *   image_00000_003_layer1_conv1_Conv.int8     layer 3's output for image 0: integers, NCHW, little-endian
 *   image_00000_003_layer1_conv1_Conv.fakequant.float32   the fake-quant model's tensor at the same point
 * </pre>
 * Integers are int8 when the value is at most 8 bits wide, else int16; a CPU layer whose output
 * stays float writes float32. A unit is one image, or for a fixed-batch export whose graph
 * mixes its batch ({@code batch_chunk} B > 1) the B images it runs together.
 */
public final class GoldenDump {
  public static final String FORMAT = "qspark-golden-dump/1";
  public static final String INDEX = "dump.json";
  static final String FAKE_QUANT = ".fakequant";

  private GoldenDump() {}

  /** Where a dump's files go: names in one folder ({@code image_00000_003_x.int8}), each written once. */
  @FunctionalInterface
  public interface Sink {
    void write(String path, byte[] bytes);
  }

  /** Where a dump is read from; {@link #shown} names it in errors. */
  public interface Source {
    /** The file's bytes, or null when there is none. */
    byte[] read(String path);

    String shown();
  }

  /** A dump in a local folder. */
  public static Source folder(Path dir) {
    return new Source() {
      @Override
      public byte[] read(String path) {
        Path p = dir.resolve(path);
        if (!Files.isRegularFile(p)) return null;
        try {
          return Files.readAllBytes(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }

      @Override
      public String shown() {
        return dir.toString();
      }
    };
  }

  /**
   * One layer of the index.
   *
   * @param index the layer's position in the deploy model
   * @param file the files' common stem ({@code 003_layer1_conv1_Conv}); the data file adds {@link #dtype}
   * @param shape one unit's output shape (NCHW for 4-D values; the batch dimension is the unit's images)
   * @param bits the integers' width; 0: the output is float32 (a CPU layer's float output)
   * @param fixPoint value = q * 2^-fix_point (0 for floats)
   */
  public record Entry(int index, String name, String op, String output, String file, List<Integer> shape, int bits,
      int fixPoint) {
    public Entry {
      shape = List.copyOf(shape);
    }

    /** Whether the output is integers (else float32). */
    public boolean integer() {
      return bits > 0;
    }

    /** int8, int16 or float32. */
    public String dtype() {
      return !integer() ? "float32" : bits <= 8 ? "int8" : "int16";
    }

    public int bytesPerValue() {
      return !integer() ? 4 : bits <= 8 ? 1 : 2;
    }

    public long size() {
      long n = 1;
      for (int d : shape) n *= d;
      return n;
    }

    /** The data file of one unit. */
    public String path(int unit) {
      return unitPrefix(unit) + file + "." + dtype();
    }

    /** The fake-quant model's float32 tensor at the same point, for one unit. */
    public String fakeQuantPath(int unit) {
      return unitPrefix(unit) + file + FAKE_QUANT + ".float32";
    }

    /** Coordinates of a flat position in the shape (NCHW order). */
    public int[] coordinates(long position) {
      int[] c = new int[shape.size()];
      for (int d = shape.size() - 1; d >= 0; d--) {
        c[d] = (int) (position % shape.get(d));
        position /= shape.get(d);
      }
      return c;
    }
  }

  /**
   * dump.json.
   *
   * @param modelSha256 the float model the deploy model was compiled from (its {@code source_sha256})
   * @param units how many units (images, or chunks of {@code imagesPerUnit}) the dump holds
   * @param fakeQuant whether the fake-quant tensors are there too
   * @param images the images' names in the data (an IDX file's index, an image file's path), in
   *     order; empty when not known
   */
  public record Index(String modelSha256, int units, int imagesPerUnit, boolean fakeQuant, List<String> images,
      List<Entry> layers) {
    public Index {
      images = List.copyOf(images);
      layers = List.copyOf(layers);
    }

    public Entry layer(String name) {
      for (Entry e : layers) if (e.name().equals(name)) return e;
      return null;
    }

    String json() {
      Map<String, Object> root = new LinkedHashMap<>();
      root.put("format", FORMAT);
      root.put("model_sha256", modelSha256);
      root.put("layout", "one file per unit and layer: image_NNNNN_LLL_<layer name>.<dtype>, values in the"
          + " layer output's shape (NCHW), little-endian; int8 for values of at most 8 bits, int16 above, float32 for"
          + " float outputs; <stem>.fakequant.float32 the fake-quant model's tensor at the same point");
      root.put("units", units);
      root.put("images_per_unit", imagesPerUnit);
      root.put("fake_quant", fakeQuant);
      root.put("images", new ArrayList<Object>(images));
      List<Object> ls = new ArrayList<>();
      for (Entry e : layers) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("index", e.index());
        m.put("name", e.name());
        m.put("op", e.op());
        m.put("output", e.output());
        m.put("file", e.file());
        m.put("shape", new ArrayList<Object>(e.shape()));
        m.put("dtype", e.dtype());
        if (e.integer()) {
          m.put("bits", e.bits());
          m.put("fix_point", e.fixPoint());
        }
        ls.add(m);
      }
      root.put("layers", ls);
      return Json.write(root);
    }
  }

  /**
   * Runs the first {@code units} units of {@code feeds} through the simulator (and, when
   * {@code fakeQuant} is given, the fake-quant model) and writes every layer's output.
   *
   * @param feeds by graph input name, [n, ...] float, n at least units * images per unit
   * @param names the images' names, for the index (null: not known)
   * @return the index written as dump.json
   */
  public static Index write(DeployModel dm, QuantizedModel fakeQuant, Map<String, Tensor> feeds, List<String> names,
      int units, Sink sink) {
    if (units < 1) throw new IllegalArgumentException("a dump holds at least one image");
    int per = Math.max(1, dm.getBatchChunk());
    int n = feeds.get(dm.getInputs(0)).dim(0);
    if (n < units * per) {
      throw new DumpException("a dump of " + units + (per > 1 ? " units of " + per : "") + " images needs " + units * per
          + " images, the data holds " + n);
    }
    Simulator sim = new Simulator(dm);
    Executor fq = fakeQuant == null ? null : fakeQuant.executor(1);
    Map<String, Integer> layerOf = new HashMap<>();
    for (int i = 0; i < dm.getLayersCount(); i++) layerOf.put(dm.getLayers(i).getOutput(), i);
    Map<String, Integer> bits = new HashMap<>();
    for (var v : dm.getValuesList()) bits.put(v.getName(), v.getBits());
    Entry[] entries = new Entry[dm.getLayersCount()];
    for (int u = 0; u < units; u++) {
      Map<String, Tensor> part = new LinkedHashMap<>();
      for (String in : dm.getInputsList()) part.put(in, feeds.get(in).slice0(u * per, (u + 1) * per));
      int unit = u;
      sim.run(part, (index, layer, out) -> {
        Entry e = entry(index, layer, out, bits.get(layer.getOutput()));
        if (entries[index] == null) entries[index] = e;
        else if (!entries[index].shape().equals(e.shape())) throw new IllegalStateException("layer " + layer.getName() + " changed shape");
        sink.write(e.path(unit), out.ints() != null ? ints(out.ints(), e.bytesPerValue()) : floats(out.floats()));
      });
      if (fq == null) continue;
      Map<String, Tensor> seen = new HashMap<>();
      TensorObserver quantize = fakeQuant.fakeQuant();
      fq.run(part, (node, name, value) -> {
        Tensor v = quantize.onValue(node, name, value);
        // the network input's point is the QUANTIZE layer's output, "<input>/quantized"
        String key = layerOf.containsKey(name) ? name : name + "/quantized";
        if (layerOf.containsKey(key) && v.isFloat()) seen.put(key, v);
        return v;
      }, false);
      for (int i = 0; i < entries.length; i++) {
        Tensor t = seen.get(dm.getLayers(i).getOutput());
        if (t == null) throw new IllegalStateException("the fake-quant model has no value '" + dm.getLayers(i).getOutput() + "'");
        sink.write(entries[i].fakeQuantPath(unit), floats(t.data()));
      }
    }
    List<String> shown = names == null ? List.of() : names.subList(0, Math.min(names.size(), units * per));
    Index index = new Index(dm.getSourceSha256(), units, per, fq != null, shown, List.of(entries));
    sink.write(INDEX, index.json().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    return index;
  }

  private static Entry entry(int index, Layer l, Simulator.Output out, int bits) {
    List<Integer> shape = new ArrayList<>();
    for (int d : out.shape()) shape.add(d);
    boolean integer = out.ints() != null;
    String stem = String.format("%03d_%s", index, l.getName().replaceAll("[^A-Za-z0-9._-]+", "_").replaceAll("^_+", ""));
    if (stem.length() > 100) stem = stem.substring(0, 100);
    return new Entry(index, l.getName(), l.getOp().name(), l.getOutput(), stem, shape, integer ? bits : 0,
        integer ? out.fixPoint() : 0);
  }

  /** Every file of a unit starts with this (one flat folder: qspark's output folders hold files, not subfolders). */
  static String unitPrefix(int unit) {
    return String.format("image_%05d_", unit);
  }

  static byte[] ints(int[] v, int width) {
    ByteBuffer b = ByteBuffer.allocate(v.length * width).order(ByteOrder.LITTLE_ENDIAN);
    for (int x : v) {
      if (width == 1) b.put((byte) x);
      else b.putShort((short) x);
    }
    return b.array();
  }

  static byte[] floats(float[] v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float x : v) b.putFloat(x);
    return b.array();
  }

  /** dump.json of a dump, checked: its format, and every layer's fields. */
  @SuppressWarnings("unchecked")
  public static Index readIndex(Source s) {
    byte[] bytes = s.read(INDEX);
    String where = s.shown() + "/" + INDEX;
    if (bytes == null) throw new DumpException(s.shown() + ": no " + INDEX + ": not a qspark golden dump");
    try {
      Map<String, Object> root = (Map<String, Object>) Json.read(new String(bytes, java.nio.charset.StandardCharsets.UTF_8));
      if (!FORMAT.equals(root.get("format"))) {
        throw new DumpException(where + ": format " + root.get("format") + ", expected " + FORMAT);
      }
      List<Entry> layers = new ArrayList<>();
      for (Object o : (List<Object>) root.get("layers")) {
        Map<String, Object> m = (Map<String, Object>) o;
        List<Integer> shape = new ArrayList<>();
        for (Object d : (List<Object>) m.get("shape")) shape.add(positive(d, where, "shape"));
        String dtype = (String) m.get("dtype");
        boolean integer = !"float32".equals(dtype);
        int bits = integer ? ((Number) m.get("bits")).intValue() : 0;
        if (integer && (!dtype.equals(bits <= 8 ? "int8" : "int16") || bits < 1 || bits > 16)) {
          throw new DumpException(where + ": layer '" + m.get("name") + "' has dtype " + dtype + " for " + bits + "-bit values");
        }
        String file = (String) m.get("file");
        if (file == null || file.isEmpty() || file.contains("/") || file.contains("..")) {
          throw new DumpException(where + ": layer '" + m.get("name") + "' has file name '" + file + "'");
        }
        layers.add(new Entry(((Number) m.get("index")).intValue(), (String) java.util.Objects.requireNonNull(m.get("name")),
            (String) m.get("op"), (String) m.get("output"), file, shape, bits,
            integer ? ((Number) m.get("fix_point")).intValue() : 0));
      }
      List<String> images = new ArrayList<>();
      if (root.get("images") instanceof List<?> l) for (Object o : l) images.add(String.valueOf(o));
      return new Index((String) root.get("model_sha256"), positive(root.get("units"), where, "units"),
          positive(root.getOrDefault("images_per_unit", 1L), where, "images_per_unit"), Boolean.TRUE.equals(root.get("fake_quant")),
          images, layers);
    } catch (ClassCastException | NullPointerException | IllegalArgumentException e) {
      if (e instanceof DumpException d) throw d;
      throw new DumpException(where + ": not a valid golden dump index (" + e.getMessage() + ")", e);
    }
  }

  private static int positive(Object v, String where, String what) {
    if (!(v instanceof Number n) || n.longValue() < 1 || n.longValue() > Integer.MAX_VALUE) {
      throw new DumpException(where + ": " + what + " " + v + " is not a positive integer");
    }
    return n.intValue();
  }

  /** One unit's integers of an integer layer (sign-extended from int8 or int16). */
  public static int[] readInts(Source s, Entry e, int unit) {
    if (!e.integer()) throw new IllegalArgumentException("layer " + e.name() + " holds floats");
    ByteBuffer b = data(s, e.path(unit), e);
    int[] v = new int[(int) e.size()];
    for (int i = 0; i < v.length; i++) v[i] = e.bytesPerValue() == 1 ? b.get() : b.getShort();
    return v;
  }

  /** One unit's floats of a float layer. */
  public static float[] readFloats(Source s, Entry e, int unit) {
    if (e.integer()) throw new IllegalArgumentException("layer " + e.name() + " holds integers");
    ByteBuffer b = data(s, e.path(unit), e);
    float[] v = new float[(int) e.size()];
    for (int i = 0; i < v.length; i++) v[i] = b.getFloat();
    return v;
  }

  private static ByteBuffer data(Source s, String path, Entry e) {
    byte[] bytes = s.read(path);
    if (bytes == null) throw new DumpException(s.shown() + "/" + path + ": missing (layer '" + e.name() + "')");
    long expected = e.size() * e.bytesPerValue();
    if (bytes.length != expected) {
      throw new DumpException(s.shown() + "/" + path + ": " + bytes.length + " bytes, expected " + expected + " (" + e.dtype()
          + " " + e.shape() + ")");
    }
    return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
  }
}
