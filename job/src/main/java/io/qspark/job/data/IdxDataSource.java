package io.qspark.job.data;

import io.qspark.job.UserError;
import io.qspark.kernels.data.Idx;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * MNIST-style IDX images with an IDX labels file: read whole by the driver (they are small)
 * and parallelized. Rank 3 files are grayscale [n,H,W]; rank 4 are interleaved [n,H,W,C].
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

  public static IdxDataSource open(DataRequest req) {
    Idx.Array img = read(req.data(), req.limit());
    if (img.count() == 0) throw new UserError(req.data() + " holds no images (empty dataset)");
    ImageLayout layout = layout(req.data(), img.dims(), req.dims());
    Path labelFile = req.labels() != null ? req.labels() : siblingLabels(req.data());
    if (labelFile == null) {
      throw new UserError("no labels for " + req.data() + ": give --labels, or put its"
          + " *labels-idx1-ubyte* file beside it");
    }
    Idx.Array lab = read(labelFile, req.limit());
    if (lab.itemSize() != 1) {
      throw new UserError(labelFile + " is not a labels file: it holds items of "
          + lab.itemSize() + " values, labels have one");
    }
    if (lab.count() < img.count()) {
      throw new UserError(String.format(Locale.ROOT, "%s has %,d labels for the %,d images of %s",
          labelFile, lab.count(), img.count(), req.data()));
    }
    int per = img.itemSize();
    List<LabeledImage> records = new ArrayList<>(img.count());
    for (int i = 0; i < img.count(); i++) {
      byte[] px = Arrays.copyOfRange(img.data(), i * per, (i + 1) * per);
      records.add(new LabeledImage(i, px, lab.data()[i] & 0xff));
    }
    return new IdxDataSource(req.data(), labelFile, layout, records);
  }

  private static Idx.Array read(Path file, int limit) {
    try (InputStream in = Files.newInputStream(file)) {
      return Idx.read(in, file.toString(), limit);
    } catch (NoSuchFileException e) {
      throw new UserError("data file not found: " + file);
    } catch (IOException e) {
      String why = e.getMessage() == null ? e.toString() : e.getMessage();
      throw new UserError(why.contains(file.toString()) ? why : "cannot read " + file + ": " + why);
    }
  }

  private static ImageLayout layout(Path file, int[] dims, int[] given) {
    int per = 1;
    for (int i = 1; i < dims.length; i++) per *= dims[i];
    if (given != null) {
      ImageLayout l = new ImageLayout(given[0], given[1], given[2], false);
      if (l.size() != per) {
        throw new UserError("--dims " + l.describe() + " makes " + l.size() + " values per image, but "
            + file + " has " + per);
      }
      return l;
    }
    switch (dims.length) {
      case 3: return new ImageLayout(1, dims[1], dims[2], false);
      case 4: return new ImageLayout(dims[3], dims[1], dims[2], true);
      case 2:
        throw new UserError(file + " holds flat records of " + per + " values; say how to read them"
            + " with --dims C,H,W");
      default:
        throw new UserError(file + " is a 1-D IDX file (labels?), not images");
    }
  }

  /**
   * The labels file that comes with an images file: t10k-images-idx3-ubyte.gz goes with
   * t10k-labels-idx1-ubyte.gz; failing that, the only *labels-idx1-ubyte* file in the folder.
   */
  static Path siblingLabels(Path images) {
    Path dir = images.toAbsolutePath().getParent();
    String name = images.getFileName().toString();
    if (name.contains("images-idx")) {
      String base = name.replaceFirst("images-idx\\d-ubyte", "labels-idx1-ubyte");
      for (String cand : List.of(base, base.endsWith(".gz") ? base.substring(0, base.length() - 3) : base + ".gz")) {
        Path p = dir.resolve(cand);
        if (Files.isRegularFile(p)) return images.resolveSibling(cand);
      }
    }
    List<Path> found = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*labels-idx1-ubyte*")) {
      for (Path p : ds) found.add(p);
    } catch (IOException e) {
      return null;
    }
    return found.size() == 1 ? found.get(0) : null;
  }

  @Override
  public String describe() {
    return String.format(Locale.ROOT, "%s: %,d images %s, labels %s", images, records.size(),
        layout.describe(), labels);
  }

  @Override
  public ImageLayout layout() {
    return layout;
  }

  @Override
  public long count() {
    return records.size();
  }

  @Override
  public JavaRDD<LabeledImage> images(JavaSparkContext sc, int partitions) {
    return sc.parallelize(records, partitions);
  }
}
