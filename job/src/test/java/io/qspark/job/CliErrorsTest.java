package io.qspark.job;

import static io.qspark.job.BadModels.convNet;
import static io.qspark.job.BadModels.external;
import static io.qspark.job.BadModels.node;
import static io.qspark.job.BadModels.value;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.onnx.proto.OnnxProto.GraphProto;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every user error ends as one line `qspark: error: ...` on stderr and exit code 2, with no
 * stack trace, from both commands that read models. None of these start Spark: models and data
 * are checked on the driver first.
 */
public class CliErrorsTest {
  @TempDir Path dir;

  /** Runs the command and checks the one-line contract; returns the message. */
  public static String userError(String... args) {
    Run r = Run.of(args);
    List<String> lines = r.errorLines();
    assertAll(String.join(" ", args),
        () -> assertEquals(2, r.code(), "exit code; stderr: " + r.err()),
        () -> assertEquals(1, lines.size(), "one line on stderr, got: " + r.err()),
        () -> assertTrue(lines.get(0).startsWith("qspark: error: "), lines.get(0)),
        () -> assertFalse(r.err().contains("\tat "), "no stack trace"),
        () -> assertEquals("", r.out(), "nothing on stdout"));
    return lines.get(0);
  }

  /** The same bad model through inspect and evaluate: one message, both commands. */
  static String badModel(Path model) {
    String a = userError("inspect", "--model", model.toString());
    String b = userError("evaluate", "--model", model.toString(), "--data", Run.sampleImages());
    assertEquals(a, b, "inspect and evaluate report a model the same way");
    return a;
  }

  public static void assertContains(String text, String... parts) {
    for (String p : parts) assertTrue(text.contains(p), "expected '" + p + "' in: " + text);
  }

  @Test
  void truncatedOnnx() throws IOException {
    byte[] full = Files.readAllBytes(Path.of(Run.sampleModel()));
    Path m = Files.write(dir.resolve("cut.onnx"), Arrays.copyOf(full, full.length / 2));
    assertContains(badModel(m), "cut.onnx", "truncated");
  }

  @Test
  void textFileIsNotOnnx() throws IOException {
    Path m = Files.writeString(dir.resolve("notes.onnx"), "this is a text file,\nnot a model\n");
    assertContains(badModel(m), "notes.onnx", "ONNX");
  }

  @Test
  void emptyModelFile() throws IOException {
    Path m = Files.write(dir.resolve("empty.onnx"), new byte[0]);
    assertContains(badModel(m), "empty.onnx", "empty");
  }

  @Test
  void missingModelFile() {
    assertContains(badModel(dir.resolve("nowhere.onnx")), "not found", "nowhere.onnx");
  }

  @Test
  void twoUnsupportedOpsNamedInOneMessage() throws IOException {
    Path m = BadModels.write(dir.resolve("ops.onnx"), GraphProto.newBuilder()
        .addInput(value("x", -1, 4))
        .addNode(node("warp", "GridSample", new String[] {"x", "x"}, "a"))
        .addNode(node("relu", "Relu", new String[] {"a"}, "b"))
        .addNode(node("topk", "TopK", new String[] {"b"}, "y"))
        .addOutput(value("y", -1, 4)));
    assertContains(badModel(m), "2 unsupported ops", "warp (GridSample)", "topk (TopK)");
  }

  @Test
  void externalDataEscapingTheModelFolder() throws IOException {
    Path sub = Files.createDirectories(dir.resolve("model"));
    Files.write(dir.resolve("secret.bin"), new byte[72]);
    Path m = BadModels.write(sub.resolve("m.onnx"), convNet(external("W", "../secret.bin", 2, 1, 3, 3)));
    assertContains(badModel(m), "'W'", "../secret.bin", "escapes the model's folder");
  }

  @Test
  void externalDataAbsolutePath() throws IOException {
    Path secret = Files.write(dir.resolve("secret.bin"), new byte[72]);
    Path m = BadModels.write(dir.resolve("m.onnx"), convNet(external("W", secret.toString(), 2, 1, 3, 3)));
    assertContains(badModel(m), "'W'", secret.toString(), "absolute");
  }

  @Test
  void missingInitializer() throws IOException {
    Path m = BadModels.write(dir.resolve("m.onnx"), convNet(null));
    assertContains(badModel(m), "'W'", "conv (Conv)");
  }

  @Test
  void inconsistentShapes() throws IOException {
    Path m = BadModels.write(dir.resolve("add.onnx"), GraphProto.newBuilder()
        .addInput(value("a", -1, 3))
        .addInput(value("b", -1, 4))
        .addNode(node("sum", "Add", new String[] {"a", "b"}, "y"))
        .addOutput(value("y", -1, 3)));
    assertContains(badModel(m), "sum (Add)", "[1, 3]", "[1, 4]", "do not broadcast");
  }

  // --- data ---

  private String evaluate(Path data) {
    return userError("evaluate", "--model", Run.sampleModel(), "--data", data.toString(),
        "--labels", Run.samples().resolve("fashion-mnist-1k/t10k-labels-idx1-ubyte.gz").toString());
  }

  private static byte[] idx(int count, int... itemDims) {
    int per = 1;
    for (int d : itemDims) per *= d;
    ByteBuffer b = ByteBuffer.allocate(4 + 4 * (1 + itemDims.length) + count * per);
    b.putInt(0x0800 | (1 + itemDims.length)).putInt(count);
    for (int d : itemDims) b.putInt(d);
    return b.array();
  }

  private static byte[] gzip(byte[] data) throws IOException {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    try (GZIPOutputStream g = new GZIPOutputStream(o)) {
      g.write(data);
    }
    return o.toByteArray();
  }

  @Test
  void emptyDataFile() throws IOException {
    assertContains(evaluate(Files.write(dir.resolve("empty-idx3-ubyte"), new byte[0])), "empty");
  }

  @Test
  void dataSetWithNoImages() throws IOException {
    Path p = Files.write(dir.resolve("none-images-idx3-ubyte.gz"), gzip(idx(0, 28, 28)));
    assertContains(evaluate(p), "no images", "empty dataset");
  }

  @Test
  void corruptIdx() throws IOException {
    Path p = Files.write(dir.resolve("junk-images-idx3-ubyte"), "GIF89a not an idx file".getBytes());
    assertContains(evaluate(p), "junk-images-idx3-ubyte", "not an unsigned-byte IDX file");
  }

  @Test
  void truncatedIdx() throws IOException {
    byte[] full = idx(100, 28, 28);
    Path p = Files.write(dir.resolve("cut-images-idx3-ubyte.gz"), gzip(Arrays.copyOf(full, full.length - 500)));
    assertContains(evaluate(p), "cut-images-idx3-ubyte.gz", "truncated");
  }

  @Test
  void corruptGzip() throws IOException {
    byte[] raw = idx(100, 28, 28);
    new java.util.Random(1).nextBytes(raw);
    System.arraycopy(idx(100, 28, 28), 0, raw, 0, 16);
    byte[] gz = gzip(raw);
    gz[gz.length / 2] ^= 0x55;
    Path p = Files.write(dir.resolve("bad-images-idx3-ubyte.gz"), gz);
    assertContains(evaluate(p), "bad-images-idx3-ubyte.gz");
  }

  @Test
  void missingDataFile() {
    assertContains(evaluate(dir.resolve("nothing.gz")), "not found", "nothing.gz");
  }

  @Test
  void noLabelsBesideTheImages() throws IOException {
    Path p = Files.write(dir.resolve("x-images-idx3-ubyte"), idx(3, 28, 28));
    String msg = userError("evaluate", "--model", Run.sampleModel(), "--data", p.toString());
    assertContains(msg, "no labels", "--labels");
  }

  @Test
  void fewerLabelsThanImages() throws IOException {
    Path p = Files.write(dir.resolve("x-images-idx3-ubyte"), idx(3, 28, 28));
    Files.write(dir.resolve("x-labels-idx1-ubyte"), idx(2));
    String msg = userError("evaluate", "--model", Run.sampleModel(), "--data", p.toString());
    assertContains(msg, "2 labels for the 3 images");
  }

  @Test
  void imagesThatDoNotFitTheModel() throws IOException {
    Path p = Files.write(dir.resolve("x-images-idx3-ubyte"), idx(3, 32, 32));
    Files.write(dir.resolve("x-labels-idx1-ubyte"), idx(3));
    String msg = userError("evaluate", "--model", Run.sampleModel(), "--data", p.toString());
    assertContains(msg, "inconsistent shapes", "1x32x32", "[N,1,28,28]");
  }

  // --- image folders: checked by the driver, which lists them and decodes the first image ---

  private String evaluateFolder(Path folder, String... extra) {
    String[] base = {"evaluate", "--model", Run.sampleModel(), "--data", folder.toString()};
    String[] args = Arrays.copyOf(base, base.length + extra.length);
    System.arraycopy(extra, 0, args, base.length, extra.length);
    return userError(args);
  }

  private Path png(Path file) throws IOException {
    Files.createDirectories(file.getParent());
    javax.imageio.ImageIO.write(new java.awt.image.BufferedImage(28, 28, java.awt.image.BufferedImage.TYPE_BYTE_GRAY),
        "png", file.toFile());
    return file;
  }

  @Test
  void emptyFolder() throws IOException {
    Path d = Files.createDirectories(dir.resolve("empty"));
    assertContains(evaluateFolder(d), "empty", "holds no images (*.png, *.jpg, *.jpeg)");
  }

  @Test
  void folderWithoutImages() throws IOException {
    Path d = Files.createDirectories(dir.resolve("docs"));
    Files.writeString(d.resolve("README.txt"), "images to come");
    Files.createDirectories(d.resolve("cats"));
    Files.createDirectories(d.resolve("dogs"));
    Files.writeString(d.resolve("dogs/list.csv"), "a,b");
    assertContains(evaluateFolder(d), "docs holds no images", "in its 2 class folders");
  }

  @Test
  void folderOfCorruptImagesOnly() throws IOException {
    Path d = Files.createDirectories(dir.resolve("bad/0"));
    Files.writeString(d.resolve("a.png"), "not a png");
    Files.write(d.resolve("b.jpg"), new byte[] {(byte) 0xff, (byte) 0xd8, (byte) 0xff});
    assertContains(evaluateFolder(dir.resolve("bad")), "none of the 2 images of", "can be decoded", "a.png");
    assertContains(evaluateFolder(dir.resolve("bad"), "--strict"), "a.png cannot be decoded");
  }

  @Test
  void imagesBesideClassFolders() throws IOException {
    png(dir.resolve("mixed/0/a.png"));
    png(dir.resolve("mixed/stray.png"));
    assertContains(evaluateFolder(dir.resolve("mixed")), "both images (stray.png) and class folders (0)");
  }

  @Test
  void flatFolderHasNoLabelsToEvaluate() throws IOException {
    png(dir.resolve("flat/a.png"));
    assertContains(evaluateFolder(dir.resolve("flat")), "flat has no class folders", "no labels");
  }

  @Test
  void moreClassFoldersThanModelClasses() throws IOException {
    for (int c = 0; c < 11; c++) png(dir.resolve("many/c" + c + "/x.png"));
    assertContains(evaluateFolder(dir.resolve("many")), "11 class folders but the model has 10 classes");
  }

  @Test
  void labelsFileWithAFolder() throws IOException {
    png(dir.resolve("one/0/a.png"));
    assertContains(evaluateFolder(dir.resolve("one"), "--labels", "x-labels-idx1-ubyte"), "--labels", "class folders");
  }

  @Test
  void oneImageInsteadOfAFolder() throws IOException {
    assertContains(evaluateFolder(png(dir.resolve("single/a.png"))), "a.png is one image", "folder");
  }

  // --- command line ---

  @ParameterizedTest
  @ValueSource(strings = {
      "frobnicate",
      "inspect",
      "inspect --model",
      "inspect --model m.onnx --colour",
      "evaluate --model m.onnx",
      "evaluate --model M --data D --batch 0",
      "evaluate --model M --data D --batch many",
      "evaluate --model M --data D --limit -3",
      "evaluate --model M --data D --partitions 0",
      "evaluate --model M --data D --std 0",
      "evaluate --model M --data D --dims 28,28",
      "evaluate --model M --data D --resize 0",
      "evaluate --model M --data D --crop 1,2,3",
      "evaluate --model M --data D --crop 0",
  })
  void badCommandLines(String line) {
    assertContains(userError(line.split(" ")), "--help");
  }

  @Test
  void noCommand() {
    assertContains(userError(), "missing command", "inspect", "evaluate");
  }

  @Test
  void unknownCommandSuggestsTheNearest() {
    assertContains(userError("evaluat"), "evaluate");
  }

  @Test
  void flagsCheckedAgainstTheImages() {
    String m = Run.sampleModel();
    String d = Run.sampleImages();
    assertContains(userError("evaluate", "--model", m, "--data", d, "--mean", "1,2,3"), "--mean has 3 values for 1 channels");
    assertContains(userError("evaluate", "--model", m, "--data", d, "--channel-swap", "2,1,0"), "--channel-swap", "channel 2");
    assertContains(userError("evaluate", "--model", m, "--data", d, "--dims", "1,28,29"), "--dims 1x28x29", "784");
  }

  @Test
  void verbosePrintsTheStackTraceToo() throws IOException {
    Path m = Files.writeString(dir.resolve("notes.onnx"), "text");
    Run r = Run.of("inspect", "--verbose", "--model", m.toString());
    assertEquals(2, r.code());
    assertTrue(r.err().startsWith("qspark: error: "), r.err());
    assertTrue(r.err().contains("\tat "), "stack trace expected with --verbose");
  }

  @Test
  void helpAndVersionSucceed() {
    for (String[] a : new String[][] {{"--help"}, {"inspect", "--help"}, {"evaluate", "--help"}, {"--version"}}) {
      Run r = Run.of(a);
      assertEquals(0, r.code(), String.join(" ", a) + ": " + r.err());
      assertEquals("", r.err());
    }
    Run r = Run.of("evaluate", "--help");
    assertContains(r.out(), "--mean", "Default: 0", "--std", "--raw-scale", "Default: 255", "--channel-swap",
        "--dims", "--batch", "Default: 64", "--partitions", "--master", "local[*]", "--limit", "--labels",
        "--resize", "--crop", "--image-column", "--label-column", "--strict", "table:NAME", "hdfs://");
  }
}
