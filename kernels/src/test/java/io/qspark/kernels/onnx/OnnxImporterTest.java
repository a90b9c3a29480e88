package io.qspark.kernels.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.onnx.proto.OnnxProto.GraphProto;
import io.qspark.kernels.onnx.proto.OnnxProto.ModelProto;
import io.qspark.kernels.onnx.proto.OnnxProto.NodeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.OperatorSetIdProto;
import io.qspark.kernels.onnx.proto.OnnxProto.StringStringEntryProto;
import io.qspark.kernels.onnx.proto.OnnxProto.TensorProto;
import io.qspark.kernels.onnx.proto.OnnxProto.TensorProto.DataType;
import io.qspark.kernels.onnx.proto.OnnxProto.TensorShapeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.TypeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.ValueInfoProto;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The ONNX importer on hand-built ModelProtos written to disk: every initializer encoding
 * decodes to the right values, external data is read only from inside the model's folder,
 * and broken files fail with a message that says what is wrong and where.
 */
class OnnxImporterTest {
  @TempDir Path dir;

  // ---- initializer encodings ----------------------------------------------------------------

  /** float16 bit patterns and their exact float values, including subnormals and infinities. */
  private static final short[] HALF_BITS = {0x3C00, (short) 0xC000, 0x0001, 0x03FF, 0x0400,
      0x7BFF, 0x7C00, (short) 0xFC00, (short) 0x8000, 0x3555};
  private static final float[] HALF_VALUES = {1f, -2f, 0x1p-24f, 1023 * 0x1p-24f, 0x1p-14f,
      65504f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f, 0.333251953125f};

  static Stream<Arguments> floatEncodings() {
    float[] f32 = {1.5f, -2.25f, 0f, Float.MAX_VALUE, Float.MIN_VALUE, -1e-30f};
    double[] f64 = {0.1, -3.25, 1e-3, 1e20};
    float[] f64AsFloat = new float[f64.length];
    for (int i = 0; i < f64.length; i++) f64AsFloat[i] = (float) f64[i];

    ByteBuffer b32 = le(f32.length * 4);
    for (float v : f32) b32.putFloat(v);
    ByteBuffer b64 = le(f64.length * 8);
    for (double v : f64) b64.putDouble(v);
    ByteBuffer b16 = le(HALF_BITS.length * 2);
    for (short v : HALF_BITS) b16.putShort(v);

    TensorProto.Builder typed32 = tensor(DataType.FLOAT, f32.length);
    for (float v : f32) typed32.addFloatData(v);
    TensorProto.Builder typed64 = tensor(DataType.DOUBLE, f64.length);
    for (double v : f64) typed64.addDoubleData(v);
    TensorProto.Builder typed16 = tensor(DataType.FLOAT16, HALF_BITS.length);
    for (short v : HALF_BITS) typed16.addInt32Data(v & 0xffff); // the spec stores the bits, zero-extended

    return Stream.of(
        Arguments.of("float32 raw", raw(DataType.FLOAT, f32.length, b32), f32),
        Arguments.of("float32 typed", typed32.build(), f32),
        Arguments.of("double raw", raw(DataType.DOUBLE, f64.length, b64), f64AsFloat),
        Arguments.of("double typed", typed64.build(), f64AsFloat),
        Arguments.of("float16 raw", raw(DataType.FLOAT16, HALF_BITS.length, b16), HALF_VALUES),
        Arguments.of("float16 typed", typed16.build(), HALF_VALUES));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("floatEncodings")
  void floatInitializersDecode(String what, TensorProto w, float[] expected) throws IOException {
    Tensor t = loadInitializer(w);
    assertTrue(t.isFloat(), what);
    assertArrayEquals(new int[] {expected.length}, t.shape(), what);
    // bitwise, so -0, infinities and subnormals are checked exactly
    for (int i = 0; i < expected.length; i++) {
      assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(t.data()[i]),
          what + " [" + i + "]: expected " + expected[i] + ", got " + t.data()[i]);
    }
  }

  static Stream<Arguments> integerEncodings() {
    long[] i64 = {Long.MIN_VALUE, -1, 0, Long.MAX_VALUE};
    long[] i32 = {Integer.MIN_VALUE, -1, 7, Integer.MAX_VALUE};
    long[] i8 = {-128, -1, 0, 127};
    long[] u8 = {0, 1, 128, 255};

    ByteBuffer b64 = le(32);
    for (long v : i64) b64.putLong(v);
    ByteBuffer b32 = le(16);
    for (long v : i32) b32.putInt((int) v);
    ByteBuffer b8 = le(4);
    for (long v : i8) b8.put((byte) v);
    ByteBuffer bu8 = le(4);
    for (long v : u8) bu8.put((byte) v);

    TensorProto.Builder t64 = tensor(DataType.INT64, 4);
    for (long v : i64) t64.addInt64Data(v);
    TensorProto.Builder t32 = tensor(DataType.INT32, 4);
    TensorProto.Builder t8 = tensor(DataType.INT8, 4);
    TensorProto.Builder tu8 = tensor(DataType.UINT8, 4);
    for (int i = 0; i < 4; i++) {
      t32.addInt32Data((int) i32[i]);
      t8.addInt32Data((int) i8[i]);
      tu8.addInt32Data((int) u8[i]);
    }
    return Stream.of(
        Arguments.of("int64 raw", raw(DataType.INT64, 4, b64), i64),
        Arguments.of("int64 typed", t64.build(), i64),
        Arguments.of("int32 raw", raw(DataType.INT32, 4, b32), i32),
        Arguments.of("int32 typed", t32.build(), i32),
        Arguments.of("int8 raw", raw(DataType.INT8, 4, b8), i8),
        Arguments.of("int8 typed", t8.build(), i8),
        Arguments.of("uint8 raw", raw(DataType.UINT8, 4, bu8), u8),
        Arguments.of("uint8 typed", tu8.build(), u8));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("integerEncodings")
  void integerInitializersDecode(String what, TensorProto w, long[] expected) throws IOException {
    Tensor t = loadInitializer(w);
    assertArrayEquals(expected, t.longs(), what);
  }

  @Test
  void rawDataIsReadFromItsOwnOffset() {
    // protobuf may hand over raw_data as a view into a larger buffer (aliasing parsers, substrings)
    ByteBuffer b = le(8 + 16);
    b.putDouble(999);
    for (double v : new double[] {1, -2}) b.putDouble(v);
    ByteString view = ByteString.copyFrom(b.array()).substring(8, 24);
    Tensor d = OnnxTensors.decode(tensor(DataType.DOUBLE, 2).build(), view);
    assertArrayEquals(new float[] {1, -2}, d.data());
    Tensor h = OnnxTensors.decode(tensor(DataType.FLOAT16, 2).build(),
        ByteString.copyFrom(new byte[] {9, 9, 0x00, 0x3C, 0x00, (byte) 0xC0}).substring(2));
    assertArrayEquals(new float[] {1, -2}, h.data());
  }

  @Test
  void rawDataOfTheWrongSizeIsRefused() {
    TensorProto w = raw(DataType.FLOAT, 4, le(12));
    GraphException e = assertThrows(GraphException.class, () -> loadInitializer(w));
    assertMessage(e, "'w'", "12 bytes", "needs 16");
  }

  @Test
  void typedDataOfTheWrongCountIsRefused() {
    TensorProto w = tensor(DataType.FLOAT, 3).addFloatData(1).addFloatData(2).build();
    GraphException e = assertThrows(GraphException.class, () -> loadInitializer(w));
    assertMessage(e, "'w'", "2 values", "needs 3");
  }

  // ---- external data ------------------------------------------------------------------------

  @Test
  void externalDataLoadsFromOffsetAndLength() throws IOException {
    Files.createDirectories(dir.resolve("weights"));
    ByteBuffer b = le(64);
    b.putLong(0x0123456789abcdefL); // bytes the tensors must not see
    for (float v : new float[] {1, 2, 3, 4, 5, 6}) b.putFloat(v);
    Files.write(dir.resolve("weights/all.bin"), b.array());
    TensorProto first = external("w", 2, "weights/all.bin", 8, 8);
    TensorProto second = external("v", 4, "weights/all.bin", 16, 16);
    Path file = write(model(List.of(first, second), List.of(identity("w", "y"), identity("v", "z")),
        List.of("y", "z"), 13));
    var g = OnnxImporter.load(file).graph();
    assertArrayEquals(new float[] {1, 2}, g.initializers().get("w").data());
    assertArrayEquals(new float[] {3, 4, 5, 6}, g.initializers().get("v").data());
  }

  @Test
  void externalDataWithoutLengthReadsToTheEndOfTheFile() throws IOException {
    ByteBuffer b = le(12);
    for (float v : new float[] {7, 8, 9}) b.putFloat(v);
    Files.write(dir.resolve("w.bin"), b.array());
    TensorProto w = external("w", 2, "w.bin", 4, -1);
    assertArrayEquals(new float[] {8, 9}, loadInitializer(w).data());
  }

  @Test
  void externalDataRunningPastItsFileIsRefused() throws IOException {
    Files.write(dir.resolve("w.bin"), new byte[12]);
    TensorProto w = external("w", 4, "w.bin", 0, 16);
    GraphException e = assertThrows(GraphException.class, () -> loadInitializer(w));
    assertMessage(e, "'w'", "w.bin", "12 bytes");
  }

  @Test
  void externalDataOutsideTheFolderThroughDotDotIsRefused() throws IOException {
    Path modelDir = Files.createDirectories(dir.resolve("model"));
    Files.write(dir.resolve("x.bin"), new byte[16]);
    GraphException e = assertThrows(GraphException.class,
        () -> loadInitializer(modelDir, external("w", 4, "../x.bin", 0, 16)));
    assertMessage(e, "'w'", "'../x.bin'", "escapes");
  }

  @Test
  void externalDataAtAnAbsolutePathIsRefused() throws IOException {
    Path modelDir = Files.createDirectories(dir.resolve("model"));
    Path outside = Files.write(dir.resolve("x.bin"), new byte[16]).toAbsolutePath();
    GraphException e = assertThrows(GraphException.class,
        () -> loadInitializer(modelDir, external("w", 4, outside.toString(), 0, 16)));
    assertMessage(e, "'w'", "'" + outside + "'", "absolute");
  }

  @Test
  void externalDataThroughASymlinkLeavingTheFolderIsRefused() throws IOException {
    Path modelDir = Files.createDirectories(dir.resolve("model"));
    Path outside = Files.write(dir.resolve("x.bin"), new byte[16]);
    Files.createSymbolicLink(modelDir.resolve("link.bin"), outside.toAbsolutePath());
    Files.createSymbolicLink(modelDir.resolve("linkdir"), dir.toAbsolutePath());
    GraphException e = assertThrows(GraphException.class,
        () -> loadInitializer(modelDir, external("w", 4, "link.bin", 0, 16)));
    assertMessage(e, "'w'", "'link.bin'", "escapes");
    GraphException viaDir = assertThrows(GraphException.class,
        () -> loadInitializer(modelDir, external("w", 4, "linkdir/x.bin", 0, 16)));
    assertMessage(viaDir, "'w'", "'linkdir/x.bin'", "escapes");
  }

  @Test
  void externalDataOfAModelHeldInMemoryIsRefused() {
    byte[] bytes = model(List.of(external("w", 4, "w.bin", 0, 16)), List.of(identity("w", "y")),
        List.of("y"), 13).toByteArray();
    GraphException e = assertThrows(GraphException.class, () -> OnnxImporter.parse(bytes, null, "mem"));
    assertMessage(e, "'w'", "'w.bin'", "not read from a folder");
  }

  @Test
  void negativeExternalOffsetIsRefused() throws IOException {
    Files.write(dir.resolve("w.bin"), new byte[16]);
    GraphException e = assertThrows(GraphException.class,
        () -> loadInitializer(external("w", 4, "w.bin", -4, 16)));
    assertMessage(e, "'w'", "'-4'");
  }

  @Test
  void aSymlinkStayingInsideTheFolderIsFine() throws IOException {
    ByteBuffer b = le(8);
    b.putFloat(1).putFloat(2);
    Files.write(dir.resolve("real.bin"), b.array());
    Files.createSymbolicLink(dir.resolve("alias.bin"), dir.resolve("real.bin").toAbsolutePath());
    assertArrayEquals(new float[] {1, 2}, loadInitializer(external("w", 2, "alias.bin", 0, 8)).data());
  }

  // ---- files that are not (whole) ONNX models -----------------------------------------------

  @Tag("slow")
  @ParameterizedTest
  @ValueSource(doubles = {0.1, 0.5, 0.9, 0.9999})
  void truncatedModelSaysTruncated(double keep) throws IOException {
    byte[] whole = Files.readAllBytes(Shared.model("resnet_s.onnx"));
    Path cut = Files.write(dir.resolve("cut.onnx"), Arrays.copyOf(whole, (int) (whole.length * keep)));
    GraphException e = assertThrows(GraphException.class, () -> OnnxImporter.load(cut));
    assertMessage(e, "cut.onnx", "truncated");
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
  void randomBytesAreNotOnnx(int seed) throws IOException {
    byte[] junk = new byte[1 + new Random(seed).nextInt(8192)];
    new Random(seed).nextBytes(junk);
    Path file = Files.write(dir.resolve("junk.onnx"), junk);
    GraphException e = assertThrows(GraphException.class, () -> OnnxImporter.load(file));
    assertMessage(e, "junk.onnx", "not an ONNX model");
  }

  static Stream<String> texts() throws IOException {
    return Stream.of(
        Files.readString(Path.of("../samples/README.md")), // a Markdown text file of the repository
        "{\"model\": \"resnet_s\", \"opset\": 13}\n",
        "name: \"resnet_s\"\nlayer {\n  name: \"conv1\"\n  type: \"Convolution\"\n}\n",
        "x");
  }

  @ParameterizedTest
  @MethodSource("texts")
  void textFilesAreNotOnnx(String text) throws IOException {
    Path file = Files.writeString(dir.resolve("model.onnx"), text, StandardCharsets.UTF_8);
    GraphException e = assertThrows(GraphException.class, () -> OnnxImporter.load(file));
    assertMessage(e, "model.onnx", "not an ONNX model");
  }

  @Tag("slow")
  @Test
  void modelCutRightAfterItsGraphSaysTruncated() throws IOException {
    // writers put opset_import after the graph, so this cut leaves a file protobuf accepts
    ModelProto whole = ModelProto.parseFrom(Files.readAllBytes(Shared.model("resnet_s.onnx")));
    Path cut = Files.write(dir.resolve("cut.onnx"), whole.toBuilder().clearOpsetImport().build().toByteArray());
    GraphException e = assertThrows(GraphException.class, () -> OnnxImporter.load(cut));
    assertMessage(e, "cut.onnx", "no opset_import", "truncated");
  }

  @Test
  void emptyFileIsNotOnnx() throws IOException {
    Path file = Files.write(dir.resolve("empty.onnx"), new byte[0]);
    assertMessage(assertThrows(GraphException.class, () -> OnnxImporter.load(file)), "empty");
  }

  @Test
  void opset19IsRefusedWithTheSupportedRange() throws IOException {
    Path file = write(model(List.of(raw(DataType.FLOAT, 1, le(4))), List.of(identity("w", "y")),
        List.of("y"), 19));
    GraphException e = assertThrows(GraphException.class, () -> OnnxImporter.load(file));
    assertMessage(e, "opset 19", "7 to 18", "opset_version=18");
  }

  @Test
  void opsetFromAnotherDomainDoesNotCount() throws IOException {
    ModelProto m = model(List.of(raw(DataType.FLOAT, 1, le(4))), List.of(identity("w", "y")),
        List.of("y"), 13).toBuilder()
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1))
        .build();
    assertEquals(13, OnnxImporter.load(write(m)).opset());
  }

  // ---- inconsistent graphs ------------------------------------------------------------------

  @Test
  void missingInitializerNamesTheTensorAndItsConsumer() throws IOException {
    NodeProto conv = NodeProto.newBuilder().setName("conv1").setOpType("Conv")
        .addInput("x").addInput("conv1.weight").addInput("conv1.bias").addOutput("y").build();
    ModelProto m = model(List.of(raw(DataType.FLOAT, 2, le(8)).toBuilder().setName("conv1.bias").build()),
        List.of(conv), List.of("y"), 13);
    GraphException e = assertThrows(GraphException.class, () -> OnnxImporter.load(write(m)));
    assertMessage(e, "model.onnx", "'conv1.weight'", "conv1 (Conv)");
  }

  @Test
  void twoNodesWritingOneTensorAreRefused() throws IOException {
    ModelProto m = model(List.of(raw(DataType.FLOAT, 1, le(4))),
        List.of(identity("w", "y"), identity("x", "y")), List.of("y"), 13);
    GraphException e = assertThrows(GraphException.class, () -> OnnxImporter.load(write(m)));
    assertMessage(e, "'y'", "defined twice");
  }

  @Test
  void aGraphOutputListedTwiceIsRefused() throws IOException {
    ModelProto m = model(List.of(raw(DataType.FLOAT, 1, le(4))), List.of(identity("w", "y")),
        List.of("y", "y"), 13);
    GraphException e = assertThrows(GraphException.class, () -> OnnxImporter.load(write(m)));
    assertMessage(e, "output 'y'", "twice");
  }

  @Test
  void twoInitializersWithOneNameAreRefused() throws IOException {
    TensorProto w = raw(DataType.FLOAT, 1, le(4));
    ModelProto m = model(List.of(w, w), List.of(identity("w", "y")), List.of("y"), 13);
    GraphException e = assertThrows(GraphException.class, () -> OnnxImporter.load(write(m)));
    assertMessage(e, "initializer 'w'", "twice");
  }

  // ---- helpers ------------------------------------------------------------------------------

  private static void assertMessage(Throwable e, String... parts) {
    for (String p : parts) {
      assertTrue(e.getMessage() != null && e.getMessage().contains(p),
          "message should mention " + p + ": " + e.getMessage());
    }
  }

  private static ByteBuffer le(int bytes) {
    return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** A 1-D tensor named w with no data yet. */
  private static TensorProto.Builder tensor(DataType type, int n) {
    return TensorProto.newBuilder().setName("w").setDataType(type.getNumber()).addDims(n);
  }

  private static TensorProto raw(DataType type, int n, ByteBuffer bytes) {
    return tensor(type, n).setRawData(ByteString.copyFrom(bytes.array())).build();
  }

  /** A float32 tensor stored in a file next to the model; length < 0 leaves the key out. */
  private static TensorProto external(String name, int n, String location, long offset, long length) {
    TensorProto.Builder b = tensor(DataType.FLOAT, n).setName(name)
        .setDataLocation(TensorProto.DataLocation.EXTERNAL)
        .addExternalData(entry("location", location))
        .addExternalData(entry("offset", Long.toString(offset)));
    if (length >= 0) b.addExternalData(entry("length", Long.toString(length)));
    return b.build();
  }

  private static StringStringEntryProto entry(String k, String v) {
    return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
  }

  private static NodeProto identity(String in, String out) {
    return NodeProto.newBuilder().setName("id_" + out).setOpType("Identity").addInput(in).addOutput(out)
        .build();
  }

  /** A model with input x [N,4], the given initializers and nodes, default-domain opset. */
  private static ModelProto model(List<TensorProto> inits, List<NodeProto> nodes, List<String> outputs,
      int opset) {
    TensorShapeProto shape = TensorShapeProto.newBuilder()
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("N"))
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(4)).build();
    GraphProto.Builder g = GraphProto.newBuilder().setName("g").addAllInitializer(inits).addAllNode(nodes)
        .addInput(ValueInfoProto.newBuilder().setName("x").setType(TypeProto.newBuilder()
            .setTensorType(TypeProto.Tensor.newBuilder().setElemType(1).setShape(shape))));
    for (String o : outputs) g.addOutput(ValueInfoProto.newBuilder().setName(o));
    return ModelProto.newBuilder().setIrVersion(8).setProducerName("OnnxImporterTest")
        .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(opset)).setGraph(g).build();
  }

  private Path write(ModelProto m) throws IOException {
    return write(dir, m);
  }

  private static Path write(Path folder, ModelProto m) throws IOException {
    return Files.write(folder.resolve("model.onnx"), m.toByteArray());
  }

  private Tensor loadInitializer(TensorProto w) throws IOException {
    return loadInitializer(dir, w);
  }

  /** Writes a model whose one initializer is w into folder, loads it and returns w decoded. */
  private static Tensor loadInitializer(Path folder, TensorProto w) throws IOException {
    Path file = write(folder, model(List.of(w), List.of(identity(w.getName(), "y")), List.of("y"), 13));
    return OnnxImporter.load(file).graph().initializers().get(w.getName());
  }
}
