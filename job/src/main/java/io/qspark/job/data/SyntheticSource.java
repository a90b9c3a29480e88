package io.qspark.job.data;

import io.qspark.job.preprocess.ImageLayout;
import io.qspark.job.preprocess.LabeledImage;
import io.qspark.job.base.UserError;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;

/**
 * {@code --data synthetic:N[,SEED]}: N pseudo-random images (uniform 0..255 pixels, planar) in
 * the model's input shape, with pseudo-random labels, for timing runs without a dataset. Image
 * i depends only on the seed and i, so any partitioning sees the same images. The driver only
 * hands each task its index range; the pixels are made in the tasks, one image at a time.
 */
public final class SyntheticSource implements DataSource {
  public static final String PREFIX = "synthetic:";
  public static final long DEFAULT_SEED = 0;

  private final long count;
  private final long seed;
  private final ImageLayout layout;
  private final int classes;

  private SyntheticSource(long count, long seed, ImageLayout layout, int classes) {
    this.count = count;
    this.seed = seed;
    this.layout = layout;
    this.classes = classes;
  }

  /**
   * @param spec what follows {@code synthetic:}: N or N,SEED
   * @param imageShape the model's input per image ([C,H,W], or any shape: then 1 x 1 x size)
   * @param classes labels are drawn from [0, classes)
   */
  public static SyntheticSource open(DataRequest req, String spec, int[] imageShape, int classes) {
    String[] parts = spec.split(",", -1);
    if (parts.length > 2) throw new UserError("--data synthetic:N[,SEED] expected, got '" + req.data() + "'");
    long n;
    long seed = DEFAULT_SEED;
    try {
      n = Long.parseLong(parts[0].trim());
      if (parts.length == 2) seed = Long.parseLong(parts[1].trim());
    } catch (NumberFormatException e) {
      throw new UserError("--data synthetic:N[,SEED] takes integers, got '" + req.data() + "'");
    }
    if (n < 1) throw new UserError("--data synthetic:N needs N >= 1, got " + n);
    if (req.limit() >= 0) n = Math.min(n, req.limit());
    if (req.labels() != null) throw new UserError("--labels does not apply to synthetic data (its labels are random)");
    if (!req.geometry().isNone()) {
      throw new UserError("--resize/--crop do not apply to synthetic data: it is made in the model's input size");
    }
    return new SyntheticSource(n, seed, layout(req.dims(), imageShape), classes);
  }

  private static ImageLayout layout(int[] dims, int[] imageShape) {
    if (dims != null) return new ImageLayout(dims[0], dims[1], dims[2], false);
    if (imageShape.length == 3) return new ImageLayout(imageShape[0], imageShape[1], imageShape[2], false);
    int size = 1;
    for (int d : imageShape) size *= d;
    return new ImageLayout(1, 1, size, false);
  }

  @Override
  public String describe() {
    return String.format(Locale.ROOT, "synthetic: %,d random images %s (seed %d), random labels", count,
        layout.describe(), seed);
  }

  @Override
  public Digest digest() {
    return Digest.ofText("generator settings", PREFIX + count + "," + seed + "," + layout.describe() + "," + classes);
  }

  @Override
  public ImageLayout layout() {
    return layout;
  }

  @Override
  public long count() {
    return count;
  }

  /** One element per partition, its index range, so that no image passes through the driver. */
  @Override
  public JavaRDD<LabeledImage> images(JavaSparkContext sc, int partitions) {
    int parts = (int) Math.max(1, Math.min(partitions, count));
    List<long[]> ranges = new ArrayList<>(parts);
    for (int p = 0; p < parts; p++) ranges.add(new long[] {count * p / parts, count * (p + 1) / parts});
    return sc.parallelize(ranges, parts).flatMap(new Generate(seed, layout.size(), classes));
  }

  /** Image {@code index} of the set made with {@code seed}: the same wherever it is made. */
  public static LabeledImage image(long seed, long index, int size, int classes) {
    // SplittableRandom's own seed mixing: neighbouring indexes give unrelated streams
    SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + index);
    byte[] pixels = new byte[size];
    int i = 0;
    for (; i + 4 <= size; i += 4) {
      int v = r.nextInt();
      pixels[i] = (byte) v;
      pixels[i + 1] = (byte) (v >>> 8);
      pixels[i + 2] = (byte) (v >>> 16);
      pixels[i + 3] = (byte) (v >>> 24);
    }
    for (; i < size; i++) pixels[i] = (byte) r.nextInt(256);
    return LabeledImage.ofPixels("synthetic " + index, pixels, classes > 0 ? r.nextInt(classes) : -1);
  }

  /** In a task: the images of one index range, made as they are consumed. */
  private static final class Generate implements FlatMapFunction<long[], LabeledImage> {
    private static final long serialVersionUID = 1L;
    private final long seed;
    private final int size;
    private final int classes;

    Generate(long seed, int size, int classes) {
      this.seed = seed;
      this.size = size;
      this.classes = classes;
    }

    @Override
    public Iterator<LabeledImage> call(long[] range) {
      return new Iterator<>() {
        long next = range[0];

        @Override
        public boolean hasNext() {
          return next < range[1];
        }

        @Override
        public LabeledImage next() {
          if (next >= range[1]) throw new NoSuchElementException();
          return image(seed, next++, size, classes);
        }
      };
    }
  }
}
