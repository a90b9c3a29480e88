package io.qspark.job.data;

import io.qspark.job.preprocess.Pixels;
import io.qspark.job.preprocess.ImageLayout;
import io.qspark.job.preprocess.LabeledImage;
import io.qspark.job.base.UserError;
import io.qspark.kernels.data.Idx;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;

/**
 * MNIST-style IDX images with an IDX labels file (given, or found beside them; without one the
 * images are unlabelled, for the stages that need no labels): read whole by the driver (they are small),
 * through Hadoop's FileSystem like every data path, and sent to the executors as one broadcast. Rank 3 files are grayscale
 * [n,H,W]; rank 4 are interleaved [n,H,W,C]. With --resize/--crop the driver reshapes them.
 */
public final class IdxDataSource implements DataSource {
  private final Path images;
  private final Path labels;
  private final ImageLayout layout;
  private final List<LabeledImage> records;

  private IdxDataSource(Path images, Path labels, ImageLayout layout, List<LabeledImage> records) {
    this.images = images;
    this.labels = labels;
    this.layout = layout;
    this.records = records;
  }

  public static IdxDataSource open(DataRequest req, Path file, Configuration conf) {
    Idx.Array img = read(file, req.limit(), conf);
    if (img.count() == 0) throw new UserError(HadoopFiles.display(file) + " holds no images (empty dataset)");
    ImageLayout layout = layout(file, img.dims(), req.dims());
    Path labelFile = req.labels() != null ? HadoopFiles.qualified(req.labels(), conf)
        : siblingLabels(HadoopFiles.fileSystem(file, conf), file);
    // no labels file: unlabelled images, for the stages that need none; the others say so (requireLabels)
    Idx.Array lab = labelFile == null ? null : read(labelFile, req.limit(), conf);
    if (lab != null && lab.itemSize() != 1) {
      throw new UserError(HadoopFiles.display(labelFile) + " is not a labels file: it holds items of "
          + lab.itemSize() + " values, labels have one");
    }
    if (lab != null && lab.count() < img.count()) {
      throw new UserError(String.format(Locale.ROOT, "%s has %,d labels for the %,d images of %s",
          HadoopFiles.display(labelFile), lab.count(), img.count(), HadoopFiles.display(file)));
    }
    int per = img.itemSize();
    List<LabeledImage> records = new ArrayList<>(img.count());
    // small data: with --resize/--crop the driver reshapes it, planar from then on
    ImageShaping shaping = req.geometry().isNone() ? null : ImageShaping.of(layout, req.geometry());
    for (int i = 0; i < img.count(); i++) {
      LabeledImage r = new LabeledImage(i, Arrays.copyOfRange(img.data(), i * per, (i + 1) * per),
          lab == null ? -1 : lab.data()[i] & 0xff);
      records.add(shaping == null ? r : shaping.shape(r.name(), Pixels.of(r.pixels(), layout), r.label()));
    }
    return new IdxDataSource(file, labelFile, shaping == null ? layout : shaping.layout(), records);
  }

  private static Idx.Array read(Path file, int limit, Configuration conf) {
    String name = HadoopFiles.display(file);
    try (InputStream in = HadoopFiles.open(file, conf)) {
      return Idx.read(in, name, limit);
    } catch (FileNotFoundException e) {
      throw new UserError("data file not found: " + name);
    } catch (IOException e) {
      String why = e.getMessage() == null ? e.toString() : e.getMessage();
      throw new UserError(why.contains(name) ? why : "cannot read " + name + ": " + why);
    }
  }

  private static ImageLayout layout(Path file, int[] dims, int[] given) {
    String name = HadoopFiles.display(file);
    int per = 1;
    for (int i = 1; i < dims.length; i++) per *= dims[i];
    if (given != null) {
      ImageLayout l = new ImageLayout(given[0], given[1], given[2], false);
      if (l.size() != per) {
        throw new UserError("--dims " + l.describe() + " makes " + l.size() + " values per image, but "
            + name + " has " + per);
      }
      return l;
    }
    switch (dims.length) {
      case 3: return new ImageLayout(1, dims[1], dims[2], false);
      case 4: return new ImageLayout(dims[3], dims[1], dims[2], true);
      case 2:
        throw new UserError(name + " holds flat records of " + per + " values; say how to read them"
            + " with --dims C,H,W");
      default:
        throw new UserError(name + " is a 1-D IDX file (labels?), not images");
    }
  }

  /**
   * The labels file that comes with an images file: t10k-images-idx3-ubyte.gz goes with
   * t10k-labels-idx1-ubyte.gz; failing that, the only *labels-idx1-ubyte* file in the folder.
   */
  static Path siblingLabels(FileSystem fs, Path images) {
    Path dir = images.getParent();
    String name = images.getName();
    List<Path> found = new ArrayList<>();
    try {
      for (FileStatus s : fs.listStatus(dir)) {
        if (s.isFile() && s.getPath().getName().contains("labels-idx1-ubyte")) found.add(s.getPath());
      }
    } catch (IOException e) {
      return null;
    }
    if (name.contains("images-idx")) {
      String base = name.replaceFirst("images-idx\\d-ubyte", "labels-idx1-ubyte");
      for (String cand : List.of(base, base.endsWith(".gz") ? base.substring(0, base.length() - 3) : base + ".gz")) {
        for (Path p : found) if (p.getName().equals(cand)) return p;
      }
    }
    return found.size() == 1 ? found.get(0) : null;
  }

  @Override
  public String describe() {
    return String.format(Locale.ROOT, "%s: %,d images %s, %s", HadoopFiles.display(images), records.size(),
        layout.describe(), labels == null ? "unlabelled" : "labels " + HadoopFiles.display(labels));
  }

  @Override
  public void requireLabels(int classes) {
    if (labels == null) {
      throw new UserError("no labels for " + HadoopFiles.display(images) + ": give --labels, or put its"
          + " *labels-idx1-ubyte* file beside it (scoring a classifier needs labels)");
    }
  }

  @Override
  public Digest digest() {
    return Digest.of(labels == null ? "images" : "images and labels", md -> {
      for (LabeledImage r : records) {
        md.update(r.pixels());
        md.update(java.nio.ByteBuffer.allocate(4).putInt(r.label()).array());
      }
    });
  }

  @Override
  public ImageLayout layout() {
    return layout;
  }

  @Override
  public long count() {
    return records.size();
  }

  /**
   * The records as {@code sc.parallelize(records, partitions)} splits them (slice i holds
   * [i n / k, (i + 1) n / k), Spark's ParallelCollectionRDD rule), but carried by one broadcast
   * instead of inside the partitions: a parallelized partition holds its records, and every task
   * of every job over an RDD derived from it ships them again (a cached AdaRound shard's hundreds
   * of per-step jobs each sent both halves of the calibration set). Here a partition holds its
   * two bounds and each executor fetches the records once.
   */
  @Override
  public JavaRDD<LabeledImage> images(JavaSparkContext sc, int partitions) {
    if (partitions < 1) throw new IllegalArgumentException("partitions must be positive, got " + partitions);
    Broadcast<List<LabeledImage>> all = sc.broadcast(records);
    List<long[]> slices = new ArrayList<>(partitions);
    long n = records.size();
    for (int i = 0; i < partitions; i++) slices.add(new long[] {i * n / partitions, (i + 1) * n / partitions});
    return sc.parallelize(slices, partitions).flatMap(new Slice(all));
  }

  /** The records of one slice, from the broadcast. */
  private record Slice(Broadcast<List<LabeledImage>> all) implements FlatMapFunction<long[], LabeledImage> {
    @Override
    public Iterator<LabeledImage> call(long[] range) {
      return all.value().subList((int) range[0], (int) range[1]).iterator();
    }
  }
}
