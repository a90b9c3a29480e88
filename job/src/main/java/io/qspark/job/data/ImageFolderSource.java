package io.qspark.job.data;

import io.qspark.job.preprocess.ImageLayout;
import io.qspark.job.preprocess.LabeledImage;
import io.qspark.job.base.UserError;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.SerializableConfiguration;

/**
 * A folder of PNG/JPEG files: DIR/&lt;class&gt;/**&#47;*.png with the label the index of the class
 * folder's name in sorted order (as torchvision's ImageFolder), or a flat folder of unlabelled
 * images. The driver lists file names only; executors read and decode the files, so pixels
 * never pass through the driver. The first image that decodes sets the channels (1 for gray,
 * 3 otherwise) and, after --resize/--crop, the size every image must have.
 */
public final class ImageFolderSource implements DataSource {
  static final Set<String> EXTENSIONS = Set.of("png", "jpg", "jpeg");

  /** One file to read: its URI (a string: Path is not serializable), and its label. */
  record ImageFile(String uri, int label) implements Serializable {
    Path path() {
      return new Path(java.net.URI.create(uri));
    }

    String name() {
      return HadoopFiles.display(path());
    }
  }

  private final Path root;
  private final List<String> classes;
  private final List<ImageFile> files;
  private final ImageShaping shaping;
  private final boolean strict;
  /** Set by {@link #images}; read after the job for the warning. */
  private SkippedImages skipped;

  private ImageFolderSource(Path root, List<String> classes, List<ImageFile> files, ImageShaping shaping, boolean strict) {
    this.root = root;
    this.classes = classes;
    this.files = files;
    this.shaping = shaping;
    this.strict = strict;
  }

  /** Lists {@code root} (a folder that exists) and decodes its first image. */
  public static ImageFolderSource open(DataRequest req, Path root, Configuration conf) {
    FileSystem fs = HadoopFiles.fileSystem(root, conf);
    String where = HadoopFiles.display(root);
    List<String> classes = new ArrayList<>();
    List<ImageFile> files = new ArrayList<>();
    try {
      List<FileStatus> dirs = new ArrayList<>();
      List<Path> top = new ArrayList<>();
      for (FileStatus s : fs.listStatus(root)) {
        if (HadoopFiles.hidden(s.getPath().getName())) continue;
        if (s.isDirectory()) dirs.add(s);
        else if (isImage(s.getPath())) top.add(s.getPath());
      }
      if (!dirs.isEmpty() && !top.isEmpty()) {
        throw new UserError(where + " holds both images (" + top.get(0).getName() + ") and class folders ("
            + dirs.get(0).getPath().getName() + "); put every image in a class folder, or none");
      }
      if (dirs.isEmpty()) {
        Collections.sort(top);
        for (Path p : top) files.add(new ImageFile(p.toUri().toString(), -1));
      } else {
        dirs.sort((a, b) -> a.getPath().getName().compareTo(b.getPath().getName()));
        for (FileStatus d : dirs) {
          int label = classes.size();
          classes.add(d.getPath().getName());
          for (Path p : imagesUnder(fs, d.getPath())) files.add(new ImageFile(p.toUri().toString(), label));
        }
      }
    } catch (IOException e) {
      throw new UserError("cannot list " + where + ": " + e.getMessage(), e);
    }
    if (files.isEmpty()) {
      throw new UserError(where + " holds no images (*.png, *.jpg, *.jpeg"
          + (classes.isEmpty() ? ")" : " in its " + classes.size() + " class folders)"));
    }
    if (req.limit() >= 0 && files.size() > req.limit()) files = new ArrayList<>(files.subList(0, req.limit()));
    ImageShaping shaping = Decoding.probe(files.iterator(), ImageFile::name,
        f -> HadoopFiles.readAll(f.path(), conf), req.geometry(), req.strict(), where);
    return new ImageFolderSource(root, List.copyOf(classes), List.copyOf(files), shaping, req.strict());
  }

  /**
   * Images anywhere below a class folder, sorted by path, hidden files and folders left out.
   * listStatus, not listFiles: the latter asks each local file's permissions, a process per file.
   */
  private static List<Path> imagesUnder(FileSystem fs, Path dir) throws IOException {
    List<Path> found = new ArrayList<>();
    ArrayDeque<Path> todo = new ArrayDeque<>(List.of(dir));
    while (!todo.isEmpty()) {
      RemoteIterator<FileStatus> it = fs.listStatusIterator(todo.pop());
      while (it.hasNext()) {
        FileStatus s = it.next();
        if (HadoopFiles.hidden(s.getPath().getName())) continue;
        if (s.isDirectory()) todo.push(s.getPath());
        else if (isImage(s.getPath())) found.add(s.getPath());
      }
    }
    Collections.sort(found);
    return found;
  }

  static boolean isImage(Path p) {
    String n = p.getName();
    int dot = n.lastIndexOf('.');
    return dot > 0 && EXTENSIONS.contains(n.substring(dot + 1).toLowerCase(Locale.ROOT));
  }

  @Override
  public String describe() {
    String labels = classes.isEmpty() ? "unlabelled" : classes.size() + " classes (" + classList() + ")";
    String skip = skipped == null || skipped.count() == 0 ? ""
        : String.format(Locale.ROOT, ", %,d undecodable skipped", skipped.count());
    return String.format(Locale.ROOT, "%s: %,d image files %s, %s%s", HadoopFiles.display(root), files.size(),
        shaping.layout().describe(), labels, skip);
  }

  private String classList() {
    int shown = Math.min(classes.size(), 5);
    String first = String.join(", ", classes.subList(0, shown));
    return shown < classes.size() ? first + ", ..." : first;
  }

  @Override
  public Digest digest() {
    StringBuilder b = new StringBuilder();
    for (ImageFile f : files) b.append(f.uri()).append('\t').append(f.label()).append('\n');
    return Digest.ofText("file paths and labels", b.toString());
  }

  @Override
  public ImageLayout layout() {
    return shaping.layout();
  }

  @Override
  public long count() {
    return files.size();
  }

  @Override
  public void requireLabels(int modelClasses) {
    String where = HadoopFiles.display(root);
    if (classes.isEmpty()) {
      throw new UserError(where + " has no class folders, so its images have no labels; put them in"
          + " DIR/<class>/ folders, named so that their sorted order is the model's class order");
    }
    if (classes.size() > modelClasses) {
      throw new UserError(where + " has " + classes.size() + " class folders but the model has "
          + modelClasses + " classes");
    }
  }

  @Override
  public JavaRDD<LabeledImage> images(JavaSparkContext sc, int partitions) {
    skipped = SkippedImages.register(sc);
    Broadcast<SerializableConfiguration> conf = sc.broadcast(new SerializableConfiguration(sc.hadoopConfiguration()));
    return sc.parallelize(files, partitions).flatMap(new ReadAndDecode(conf, new Decoding(shaping, strict, skipped)));
  }

  @Override
  public Optional<List<String>> imageNames() {
    return Optional.of(files.stream().map(ImageFile::name).toList());
  }

  @Override
  public Optional<String> skippedWarning() {
    return skipped == null ? Optional.empty() : skipped.warning(files.size());
  }

  /** In a task: one file's bytes through Hadoop's FileSystem, decoded; none when skipped. */
  private static final class ReadAndDecode implements FlatMapFunction<ImageFile, LabeledImage> {
    private static final long serialVersionUID = 1L;
    private final Broadcast<SerializableConfiguration> conf;
    private final Decoding decoding;

    ReadAndDecode(Broadcast<SerializableConfiguration> conf, Decoding decoding) {
      this.conf = conf;
      this.decoding = decoding;
    }

    @Override
    public Iterator<LabeledImage> call(ImageFile f) throws IOException {
      // an unreadable file is the file system's failure (Spark retries the task), not a bad image
      byte[] bytes = HadoopFiles.readAll(f.path(), conf.value().value());
      LabeledImage image = decoding.decode(f.name(), bytes, f.label());
      return image == null ? Collections.emptyIterator() : List.of(image).iterator();
    }
  }
}
