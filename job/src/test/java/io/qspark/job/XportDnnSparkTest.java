package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.TextFormat;
import io.qspark.kernels.caffe.proto.CaffeProto.LayerParameter;
import io.qspark.kernels.caffe.proto.CaffeProto.NetParameter;
import io.qspark.kernels.testing.Shared;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `xportdnn` with XportDNN's flags, as a real local[2] Spark job. */
@Tag("slow")
class XportDnnSparkTest {
  static final String CAFFE = Shared.model("caffe/resnet_s.prototxt").toString();

  static Run xport(Path out, String... extra) {
    List<String> args = new java.util.ArrayList<>(List.of("xportdnn", "--deploy_model", CAFFE,
        "--quantized_deploy_model", out.toString(), "--calibration_directory", Run.sampleImages(),
        "--channel_swap", "0", "--mean_value", "72.94", "--input_scale", "0.011108642", "--master", "local[2]"));
    args.addAll(List.of(extra));
    return Run.of(args.toArray(new String[0]));
  }

  static NetParameter read(Path p) throws Exception {
    NetParameter.Builder b = NetParameter.newBuilder();
    TextFormat.merge(Files.readString(p), b);
    return b.build();
  }

  /** Xilinx mode, XportDNN's 6-bit default: the same bytes for any partitioning, thresholds on the expected layers. */
  @Test
  void xilinxModeIsReproducibleAndComplete(@TempDir Path dir) throws Exception {
    Path a = dir.resolve("a.prototxt");
    Path b = dir.resolve("b.prototxt");
    Run ra = xport(a, "--calibration_size", "200", "--partitions", "1");
    assertEquals(0, ra.code(), ra.err());
    assertTrue(ra.out().contains("Xilinx mode, bit widths 6,6,6, precision_param on 66 of 68 layers, calibrated on 200 images"), ra.out());
    Run rb = xport(b, "--calibration_size", "200", "--partitions", "3", "--batch", "17");
    assertEquals(0, rb.code(), rb.err());
    assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
    assertTrue(Files.readString(dir.resolve("a.report.json")).contains("\"activation_histograms\""));
    assertTrue(Files.readString(dir.resolve("a.report.html")).contains("\"activation_histograms\""));
    NetParameter net = read(a);
    for (LayerParameter l : net.getLayerList()) {
      boolean expected = !Set.of("InnerProduct", "Softmax").contains(l.getType());
      assertEquals(expected, l.hasPrecisionParam(), l.getName());
      if (!expected) continue;
      assertEquals(6, l.getPrecisionParam().getBwLayerOut());
      double th = l.getPrecisionParam().getThLayerOut();
      double fp = Math.log(31 / th) / Math.log(2);
      assertEquals(Math.rint(fp), fp, 1e-9, l.getName() + " threshold " + th);
    }
    Run again = xport(a, "--calibration_size", "8");
    assertEquals(2, again.code());
    assertTrue(again.err().contains("already exists"), again.err());
  }

  /** An ONNX model: converted to Caffe layers (weights beside the output), which qspark then scores as the ONNX model. */
  @Test
  void onnxModelBecomesACaffeModelWithTheSameTop1(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("resnet_chai.prototxt");
    Run r = Run.of("xportdnn", "--quant_type", "DynamicFixed", "--deploy_model", Run.sampleModel(),
        "--quantized_deploy_model", out.toString(), "--bitwidths", "8,8,8");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("fractional lengths 2,5,2"), r.out());
    assertTrue(Files.exists(dir.resolve("resnet_chai.caffemodel")));
    for (LayerParameter l : read(out).getLayerList()) {
      if (!l.hasPrecisionParam()) continue;
      assertEquals(2, l.getPrecisionParam().getFlLayerIn(), l.getName());
      assertFalse(l.getPrecisionParam().hasThLayerIn(), l.getName());
    }
    Run onnx = Run.of("evaluate", "--model", Run.sampleModel(), "--data", Run.sampleImages(), "--mean", "72.94",
        "--std", "90.02", "--master", "local[2]");
    Run caffe = Run.of("evaluate", "--model", out.toString(), "--data", Run.sampleImages(), "--mean", "72.94",
        "--std", "90.02", "--master", "local[2]");
    assertEquals(0, caffe.code(), caffe.err());
    String last = onnx.out().strip().substring(onnx.out().strip().lastIndexOf('\n') + 1);
    assertTrue(last.startsWith("top1: "), onnx.out());
    assertTrue(caffe.out().strip().endsWith(last), caffe.out());
  }

  /** --model takes a prototxt with --weights elsewhere; without them it says which file it looked for. */
  @Test
  void caffeModelWithWeightsElsewhere(@TempDir Path dir) throws Exception {
    Path proto = dir.resolve("deploy.prototxt");
    Files.copy(Path.of(CAFFE), proto);
    Run missing = Run.of("evaluate", "--model", proto.toString(), "--data", Run.sampleImages(), "--limit", "100",
        "--mean", "72.94", "--std", "90.02", "--master", "local[2]");
    assertEquals(2, missing.code(), missing.err());
    assertTrue(missing.err().contains("caffemodel file not found: " + dir.resolve("deploy.caffemodel")), missing.err());
    Run r = Run.of("evaluate", "--model", proto.toString(), "--weights", CAFFE.replace(".prototxt", ".caffemodel"),
        "--data", Run.sampleImages(), "--mean", "72.94", "--std", "90.02", "--master", "local[2]");
    assertEquals(0, r.code(), r.err());
    // the Caffe conversion of resnet_s scores what ONNX Runtime scores with the ONNX model
    String expected = String.format(java.util.Locale.ROOT, "top1: %.2f", OnnxRuntimeTop1.of(Run.sampleModel(),
        Run.sampleImages(), Run.sampleImages().replace("images-idx3", "labels-idx1"), 72.94f, 90.02f));
    assertTrue(r.out().strip().endsWith(expected), expected + " expected: " + r.out());
  }

  @Test
  void chaiBitWidthsAreSixOrEight(@TempDir Path dir) {
    Run r = xport(dir.resolve("x.prototxt"), "--bitwidths", "8,4,8");
    assertEquals(2, r.code());
    assertTrue(r.err().contains("CHaiDNN computes with 8 or 6 bits only"), r.err());
    assertFalse(Files.exists(dir.resolve("x.prototxt")));
  }
}
