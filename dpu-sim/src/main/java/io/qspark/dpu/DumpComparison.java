package io.qspark.dpu;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Two golden dumps ({@link GoldenDump}) compared layer by layer, in the first dump's execution
 * order: for each layer both hold, how many integers differ over the units both hold, the
 * largest difference and where the first one is. Dumps of different models, or whose common
 * layers have different shapes, are refused: their integers mean different things.
 */
public final class DumpComparison {
  /**
   * One differing value.
   *
   * @param position the flat index in the unit's tensor; {@link #coordinates} in its shape
   */
  public record Difference(int unit, long position, int[] coordinates, int a, int b) {
    @Override
    public String toString() {
      return "image " + unit + " at " + Arrays.toString(coordinates) + " (A " + a + ", B " + b + ")";
    }
  }

  /**
   * One layer both dumps hold.
   *
   * @param first the first differing value in unit then position order, or null
   * @param fixPointA and {@code fixPointB}: the layer's fix_points (equal integers at different
   *     fix_points are different values, so a fix_point mismatch is a difference)
   */
  public record Layer(GoldenDump.Entry entry, long compared, long differing, long largest, Difference first,
      int fixPointA, int fixPointB) {
    public boolean differs() {
      return differing > 0 || fixPointA != fixPointB;
    }
  }

  private final String a, b;
  private final int units;
  private final List<Layer> layers;
  private final List<String> onlyInA, onlyInB;

  private DumpComparison(String a, String b, int units, List<Layer> layers, List<String> onlyInA, List<String> onlyInB) {
    this.a = a;
    this.b = b;
    this.units = units;
    this.layers = List.copyOf(layers);
    this.onlyInA = List.copyOf(onlyInA);
    this.onlyInB = List.copyOf(onlyInB);
  }

  public static DumpComparison of(GoldenDump.Source a, GoldenDump.Source b) {
    GoldenDump.Index ia = GoldenDump.readIndex(a), ib = GoldenDump.readIndex(b);
    // an empty sha256 is unknown (a converted board dump may not know it): such dumps compare by their layers
    if (known(ia.modelSha256()) && known(ib.modelSha256()) && !ia.modelSha256().equals(ib.modelSha256())) {
      throw new DumpException("dumps of different models: " + a.shown() + " is of model sha256 " + ia.modelSha256() + ", "
          + b.shown() + " of " + ib.modelSha256());
    }
    if (ia.imagesPerUnit() != ib.imagesPerUnit()) {
      throw new DumpException("dumps of different layouts: " + a.shown() + " holds " + ia.imagesPerUnit() + " images per unit, "
          + b.shown() + " " + ib.imagesPerUnit());
    }
    int units = Math.min(ia.units(), ib.units());
    List<Layer> layers = new ArrayList<>();
    List<String> onlyInA = new ArrayList<>(), onlyInB = new ArrayList<>();
    for (GoldenDump.Entry ea : ia.layers()) {
      GoldenDump.Entry eb = ib.layer(ea.name());
      if (eb == null) {
        onlyInA.add(ea.name());
        continue;
      }
      if (!ea.shape().equals(eb.shape())) {
        throw new DumpException("layer '" + ea.name() + "' has shape " + ea.shape() + " in " + a.shown() + ", " + eb.shape()
            + " in " + b.shown());
      }
      if (ea.integer() != eb.integer()) {
        throw new DumpException("layer '" + ea.name() + "' holds " + ea.dtype() + " in " + a.shown() + ", " + eb.dtype() + " in "
            + b.shown());
      }
      if (!ea.integer()) continue; // a CPU layer's float output: no integers to compare
      layers.add(layer(a, b, ea, eb, units));
    }
    for (GoldenDump.Entry eb : ib.layers()) if (ia.layer(eb.name()) == null) onlyInB.add(eb.name());
    if (layers.isEmpty()) {
      throw new DumpException("dumps " + a.shown() + " and " + b.shown() + " have no integer layer in common (layer names differ)");
    }
    return new DumpComparison(a.shown(), b.shown(), units, layers, onlyInA, onlyInB);
  }

  private static boolean known(String sha) {
    return sha != null && !sha.isEmpty();
  }

  private static Layer layer(GoldenDump.Source a, GoldenDump.Source b, GoldenDump.Entry ea, GoldenDump.Entry eb, int units) {
    long differing = 0, largest = 0;
    Difference first = null;
    for (int u = 0; u < units; u++) {
      int[] x = GoldenDump.readInts(a, ea, u), y = GoldenDump.readInts(b, eb, u);
      for (int i = 0; i < x.length; i++) {
        if (x[i] == y[i]) continue;
        differing++;
        largest = Math.max(largest, Math.abs((long) x[i] - y[i]));
        if (first == null) first = new Difference(u, i, ea.coordinates(i), x[i], y[i]);
      }
    }
    return new Layer(ea, ea.size() * units, differing, largest, first, ea.fixPoint(), eb.fixPoint());
  }

  /** Every layer compared, in the first dump's order. */
  public List<Layer> layers() {
    return layers;
  }

  /** The first layer whose integers (or fix_point) differ, or null when the dumps agree. */
  public Layer firstDifference() {
    for (Layer l : layers) if (l.differs()) return l;
    return null;
  }

  public int units() {
    return units;
  }

  public List<String> onlyInA() {
    return onlyInA;
  }

  public List<String> onlyInB() {
    return onlyInB;
  }

  /** What compare-dumps prints: the first differing layer in detail, then every differing layer. */
  public String report() {
    StringBuilder s = new StringBuilder();
    s.append("A: ").append(a).append("\nB: ").append(b).append('\n');
    s.append(String.format(Locale.ROOT, "compared %d integer layers over %d image%s%n", layers.size(), units, units == 1 ? "" : "s"));
    if (!onlyInA.isEmpty()) s.append("only in A (not compared): ").append(names(onlyInA)).append('\n');
    if (!onlyInB.isEmpty()) s.append("only in B (not compared): ").append(names(onlyInB)).append('\n');
    Layer f = firstDifference();
    if (f == null) {
      s.append("no difference: every integer and fix_point is equal\n");
      return s.toString();
    }
    GoldenDump.Entry e = f.entry();
    s.append(String.format(Locale.ROOT, "first differing layer: %d '%s' (%s, %s %s)%n", e.index(), e.name(), e.op(), e.dtype(),
        e.shape()));
    if (f.fixPointA() != f.fixPointB()) {
      s.append(String.format(Locale.ROOT, "  fix_point: A %d, B %d%n", f.fixPointA(), f.fixPointB()));
    }
    s.append(String.format(Locale.ROOT, "  %d of %d values differ, largest difference %d%n", f.differing(), f.compared(), f.largest()));
    if (f.first() != null) s.append("  first: ").append(f.first()).append('\n');
    long differ = layers.stream().filter(Layer::differs).count();
    s.append(String.format(Locale.ROOT, "%d of %d layers differ:%n", differ, layers.size()));
    s.append(String.format(Locale.ROOT, "%5s  %-40s %12s %8s  %s%n", "layer", "name", "differing", "largest", "fix_point A/B"));
    for (Layer l : layers) {
      if (!l.differs()) continue;
      s.append(String.format(Locale.ROOT, "%5d  %-40s %12d %8d  %d/%d%n", l.entry().index(), l.entry().name(), l.differing(),
          l.largest(), l.fixPointA(), l.fixPointB()));
    }
    return s.toString();
  }

  private static String names(List<String> l) {
    return l.size() <= 8 ? String.join(", ", l) : String.join(", ", l.subList(0, 8)) + ", ... (" + l.size() + ")";
  }
}
