package io.qspark.job;

import org.junit.jupiter.api.Tag;

import static io.qspark.job.TestData.dataLine;
import static io.qspark.job.TestData.evaluate;
import static io.qspark.job.TestData.failure;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Image folders, Parquet and catalog tables give the same top-1 as the IDX file of the same
 * images (see {@link TestData}), as Spark local[2] jobs; undecodable files are skipped and
 * counted, or fail the job with --strict.
 */
@Tag("slow")
class DataSourcesSparkTest {
  static TestData data;
  @TempDir Path dir;

  @BeforeAll
  static void writeData() {
    data = TestData.get();
  }

  @Test
  void pngFolderGivesTheSameTop1AsIdx() {
    Run r = evaluate(data.png.toString(), "--partitions", "3");
    data.assertSameResults(r);
    assertTrue(dataLine(r).contains(data.subset.size()
        + " image files 1x28x28, 3 classes (0-tshirt, 1-trouser, 2-pullover)"), dataLine(r));
  }

  @Test
  void grayJpegFolderIsCloseToIdx() throws IOException {
    Path jpg = data.subset.writeFolder(dir.resolve("jpg"), "jpg", FashionSubset::gray);
    Run r = evaluate(jpg.toString());
    double lossless = top1(data.expected.get(data.expected.size() - 1));
    double lossy = top1(r.out().strip().lines().reduce((a, b) -> b).orElseThrow());
    assertTrue(Math.abs(lossless - lossy) <= 1.0, "JPEG at quality 0.95 moves top-1 a little at most: "
        + lossless + " vs " + lossy);
  }

  private static double top1(String line) {
    return Double.parseDouble(line.substring("top1: ".length()));
  }

  @Test
  void undecodableFilesAreSkippedAndCountedOrFailWithStrict() throws IOException {
    Path bad = TestData.copy(data.png, dir.resolve("with-bad"));
    Files.writeString(bad.resolve("1-trouser/0500-notes.png"), "not a picture");
    Path cut = bad.resolve("2-pullover/0600-cut.jpg");
    ImageIO.write(FashionSubset.gray(data.subset.images.get(0)), "jpg", cut.toFile());
    byte[] full = Files.readAllBytes(cut);
    Files.write(cut, Arrays.copyOf(full, full.length / 2));

    Run r = evaluate(bad.toString());
    data.assertSameResults(r);
    assertTrue(r.err().contains("skipped 2 of " + (data.subset.size() + 2) + " images that could not be decoded"),
        r.err());
    assertTrue(r.err().contains("0500-notes.png") && r.err().contains("0600-cut.jpg"), r.err());
    assertTrue(dataLine(r).contains("2 undecodable skipped"), dataLine(r));

    // found by a task, not the driver: the sorted listing starts with good files
    String strict = failure(bad.toString(), "--strict");
    assertTrue(strict.matches("qspark: error: .*/with-bad/1-trouser/0500-notes.png cannot be decoded: .*"), strict);
  }

  @Test
  void rgbImagesWithChannelSwap() throws IOException {
    Path rgb = data.subset.writeFolder(dir.resolve("rgb"), "png", FashionSubset::greenRgb);
    data.assertSameResults(evaluate(rgb.toString(), "--channel-swap", "1"));
    String e = failure(rgb.toString());
    assertTrue(e.contains("inconsistent shapes: the images are 3x28x28"), e);
  }

  @Test
  void cropAndResizeBringImagesToTheModelsSize() throws IOException {
    Path framed = data.subset.writeFolder(dir.resolve("framed"), "png", FashionSubset::framed);
    Run r = evaluate(framed.toString(), "--resize", "32", "--crop", "28");
    data.assertSameResults(r);
    assertTrue(r.out().contains("resize 32, center crop 28x28, mean 72.94"), r.out());
    assertTrue(failure(framed.toString()).contains("the images are 1x32x32"));
  }

  @Test
  void imagesOfDifferentSizesNeedResizeOrCrop() throws IOException {
    Path mixed = TestData.copy(data.png, dir.resolve("mixed"));
    ImageIO.write(FashionSubset.framed(data.subset.images.get(0)), "png",
        mixed.resolve("2-pullover/0700-big.png").toFile());
    String e = failure(mixed.toString());
    assertTrue(e.contains("0700-big.png is 32x32 but the first image is 28x28; give --resize and --crop"), e);
  }

  @Test
  void parquetColumnsOfEveryKind() {
    String parquet = data.parquet().toString();
    data.assertSameResults(evaluate(parquet, "--image-column", "inputs"));
    Run binary = evaluate(parquet, "--image-column", "png", "--partitions", "4");
    data.assertSameResults(binary);
    assertTrue(dataLine(binary).contains(data.subset.size() + " rows, column 'png' (encoded images 1x28x28),"
        + " labels from column 'label'"), dataLine(binary));
    data.assertSameResults(evaluate(parquet, "--image-column", "pixels", "--dims", "1,28,28"));

    String e = failure(parquet, "--image-column", "inputs", "--mean", "3");
    assertTrue(e.endsWith("holds model inputs, already preprocessed; --mean does not apply to them"), e);
    e = failure(parquet, "--image-column", "pixels");
    assertTrue(e.contains("column 'pixels' holds raw pixels; give their shape with --dims C,H,W"), e);
  }

  @Test
  void catalogTable() {
    Path parquet = data.parquet();
    // the in-memory catalog lives as long as the session; evaluate picks up the running one (and stops it)
    TestData.session().sql("CREATE TABLE fm USING parquet LOCATION '" + parquet.toUri() + "'");
    Run r = evaluate("table:fm", "--image-column", "png");
    data.assertSameResults(r);
    assertTrue(dataLine(r).contains("table fm: " + data.subset.size() + " rows"), dataLine(r));
  }
}
