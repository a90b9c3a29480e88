package io.qspark.job;

import io.qspark.kernels.data.Idx;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;

/**
 * The bundled sample's images of the first few Fashion-MNIST classes, written out as the data
 * sources qspark reads: IDX, image folders, and the pixels for Parquet rows.
 */
final class FashionSubset {
  /** Class folder names; sorted, they are the Fashion-MNIST label order. */
  static final String[] CLASSES = {"0-tshirt", "1-trouser", "2-pullover"};

  final List<byte[]> images = new ArrayList<>();
  final List<Integer> labels = new ArrayList<>();

  static FashionSubset load() throws IOException {
    FashionSubset s = new FashionSubset();
    Idx.Array img = read("t10k-images-idx3-ubyte.gz");
    Idx.Array lab = read("t10k-labels-idx1-ubyte.gz");
    for (int i = 0; i < img.count(); i++) {
      int label = lab.data()[i] & 0xff;
      if (label < CLASSES.length) {
        s.images.add(java.util.Arrays.copyOfRange(img.data(), i * 784, (i + 1) * 784));
        s.labels.add(label);
      }
    }
    return s;
  }

  private static Idx.Array read(String file) throws IOException {
    try (InputStream in = Files.newInputStream(Run.samples().resolve("fashion-mnist-1k").resolve(file))) {
      return Idx.read(in, file, -1);
    }
  }

  int size() {
    return images.size();
  }

  /** The subset as an IDX images file with its labels file beside it; returns the images file. */
  Path writeIdx(Path dir) throws IOException {
    Files.createDirectories(dir);
    ByteBuffer img = ByteBuffer.allocate(16 + 784 * size()).putInt(0x0803).putInt(size()).putInt(28).putInt(28);
    ByteBuffer lab = ByteBuffer.allocate(8 + size()).putInt(0x0801).putInt(size());
    for (int i = 0; i < size(); i++) {
      img.put(images.get(i));
      lab.put((byte) (int) labels.get(i));
    }
    Files.write(dir.resolve("sub-labels-idx1-ubyte"), lab.array());
    return Files.write(dir.resolve("sub-images-idx3-ubyte"), img.array());
  }

  /** How one 28x28 gray image becomes a picture on disk. */
  interface Painter {
    BufferedImage paint(byte[] pixels);
  }

  /** DIR/&lt;class&gt;/NNNN.ext for every image (JPEGs at quality 0.95); returns DIR. */
  Path writeFolder(Path dir, String format, Painter painter) throws IOException {
    for (int i = 0; i < size(); i++) {
      Path cls = Files.createDirectories(dir.resolve(CLASSES[labels.get(i)]));
      write(painter.paint(images.get(i)), format, cls.resolve(String.format("%04d.%s", i, format)));
    }
    return dir;
  }

  static void write(BufferedImage image, String format, Path file) throws IOException {
    if (!format.equals("jpg")) {
      ImageIO.write(image, format, file.toFile());
      return;
    }
    ImageWriter w = ImageIO.getImageWritersByFormatName("jpg").next();
    ImageWriteParam p = w.getDefaultWriteParam();
    p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
    p.setCompressionQuality(0.95f);
    try (ImageOutputStream out = ImageIO.createImageOutputStream(file.toFile())) {
      w.setOutput(out);
      w.write(null, new IIOImage(image, null, null), p);
    } finally {
      w.dispose();
    }
  }

  static BufferedImage gray(byte[] px) {
    BufferedImage g = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
    g.getRaster().setDataElements(0, 0, 28, 28, px);
    return g;
  }

  /** The gray value in green, the red and blue channels something else entirely. */
  static BufferedImage greenRgb(byte[] px) {
    BufferedImage c = new BufferedImage(28, 28, BufferedImage.TYPE_INT_RGB);
    for (int i = 0; i < 784; i++) {
      int g = px[i] & 0xff;
      c.setRGB(i % 28, i / 28, ((255 - g) << 16) | (g << 8) | ((i * 7) & 0xff));
    }
    return c;
  }

  /** The image in the middle of a black 32x32 frame. */
  static BufferedImage framed(byte[] px) {
    BufferedImage g = new BufferedImage(32, 32, BufferedImage.TYPE_BYTE_GRAY);
    g.getRaster().setDataElements(2, 2, 28, 28, px);
    return g;
  }

  /** PNG bytes of one image, for binary columns. */
  static byte[] png(byte[] px) throws IOException {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    ImageIO.write(gray(px), "png", out);
    return out.toByteArray();
  }
}
