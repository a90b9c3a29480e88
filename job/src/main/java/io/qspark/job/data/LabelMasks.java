package io.qspark.job.data;

import io.qspark.job.base.UserError;
import io.qspark.job.eval.SegmentationCounts;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.color.ColorSpace;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Serializable;
import java.util.Collection;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import javax.imageio.ImageIO;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A folder of PNG label masks for segmentation metrics (evaluate/simulate --metric miou
 * --labels MASKS): one mask per image, {@code MASKS/<stem>.png} for the image whose name's last
 * path component without its extension is {@code stem}; each pixel an 8-bit gray value or a
 * palette index that is the pixel's class, 255 for pixels that count for no class (PASCAL VOC's
 * and Cityscapes' convention). The driver lists the folder; tasks read the masks they need.
 */
public final class LabelMasks implements Serializable {
  private static final long serialVersionUID = 1L;

  private final String shown;
  /** Mask URIs (strings: Path is not serializable) by stem. */
  private final Map<String, String> byStem;

  private LabelMasks(String shown, Map<String, String> byStem) {
    this.shown = shown;
    this.byStem = byStem;
  }

  /** Lists the folder's PNG files; a missing or empty folder is the user's error. */
  public static LabelMasks open(String location, Configuration conf) {
    Path root = HadoopFiles.qualified(location, conf);
    String shown = HadoopFiles.display(root);
    FileStatus status;
    try {
      status = HadoopFiles.fileSystem(root, conf).getFileStatus(root);
    } catch (java.io.FileNotFoundException e) {
      throw new UserError("--labels " + shown + " not found: it should be a folder of PNG label masks");
    } catch (IOException e) {
      throw new UserError("cannot read --labels " + shown + ": " + e.getMessage(), e);
    }
    if (!status.isDirectory()) {
      throw new UserError("--labels " + shown + " is a file; --metric miou takes a folder of PNG label masks, one per image");
    }
    Map<String, String> byStem = new TreeMap<>();
    try {
      FileSystem fs = HadoopFiles.fileSystem(root, conf);
      for (FileStatus s : fs.listStatus(root)) {
        String name = s.getPath().getName();
        if (s.isDirectory() || HadoopFiles.hidden(name) || !name.toLowerCase(Locale.ROOT).endsWith(".png")) continue;
        byStem.put(name.substring(0, name.length() - 4), s.getPath().toUri().toString());
      }
    } catch (IOException e) {
      throw new UserError("cannot list --labels " + shown + ": " + e.getMessage(), e);
    }
    if (byStem.isEmpty()) throw new UserError("--labels " + shown + " holds no PNG label masks (*.png)");
    return new LabelMasks(shown, byStem);
  }

  /** The folder as the user sees it. */
  public String shown() {
    return shown;
  }

  /** The stem an image is matched by: its name's last path component without the extension. */
  public static String stem(String imageName) {
    String last = imageName.substring(imageName.lastIndexOf('/') + 1);
    int dot = last.lastIndexOf('.');
    return dot > 0 ? last.substring(0, dot) : last;
  }

  /** Fails, naming the first image without a mask, unless every image has one. */
  public void requireAll(Collection<String> imageNames) {
    for (String n : imageNames) requireMask(n);
  }

  private String requireMask(String imageName) {
    String uri = byStem.get(stem(imageName));
    if (uri == null) {
      throw new UserError("no label mask for image " + imageName + ": expected " + shown + "/" + stem(imageName) + ".png");
    }
    return uri;
  }

  /**
   * In a task: the mask of an image, a class in [0, classes) or {@link SegmentationCounts#IGNORE}
   * per pixel, row-major; it must be {@code h} x {@code w} (the output's size).
   */
  public int[] read(String imageName, int h, int w, int classes, Configuration conf) {
    String uri = requireMask(imageName);
    Path path = new Path(java.net.URI.create(uri));
    String file = HadoopFiles.display(path);
    BufferedImage image;
    try {
      image = ImageIO.read(new ByteArrayInputStream(HadoopFiles.readAll(path, conf)));
    } catch (IOException | RuntimeException e) {
      throw new UserError("label mask " + file + " cannot be read: " + e.getMessage(), e);
    }
    if (image == null) throw new UserError("label mask " + file + " is not a PNG image");
    if (image.getHeight() != h || image.getWidth() != w) {
      throw new UserError("label mask " + file + " is " + image.getHeight() + "x" + image.getWidth() + " (HxW) but the"
          + " model's output for " + imageName + " is " + h + "x" + w + "; masks must have the output's size");
    }
    ColorModel cm = image.getColorModel();
    Raster r = image.getRaster();
    boolean palette = cm instanceof IndexColorModel;
    boolean gray8 = !palette && cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY && r.getNumBands() == 1
        && r.getSampleModel().getSampleSize(0) == 8;
    if (!palette && !gray8) {
      throw new UserError("label mask " + file + " is not an 8-bit gray or palette PNG (it has " + cm.getNumComponents()
          + " channels of " + r.getSampleModel().getSampleSize(0) + " bits); a mask holds one class index per pixel");
    }
    // the raster: for a palette image its samples are the indices, for gray the values
    int[] labels = r.getSamples(0, 0, w, h, 0, new int[h * w]);
    for (int i = 0; i < labels.length; i++) {
      int v = labels[i];
      if (v != SegmentationCounts.IGNORE && (v < 0 || v >= classes)) {
        throw new UserError("label mask " + file + " has class " + v + " at row " + i / w + ", column " + i % w
            + "; the model has " + classes + " classes (0.." + (classes - 1) + ", and " + SegmentationCounts.IGNORE
            + " for pixels to ignore)");
      }
    }
    return labels;
  }
}
