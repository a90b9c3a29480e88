package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.TextFormat;
import io.qspark.kernels.caffe.proto.CaffeProto.LayerParameter;
import io.qspark.kernels.caffe.proto.CaffeProto.NetParameter;
import io.qspark.kernels.testing.SsdNet;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * `xportdnn` on an SSD-style Caffe net written by {@link SsdNet}, calibrated as a local[2] Spark
 * job on images of several sizes brought to the model's by --resize/--crop.
 */
class XportDnnSsdTest {
  @TempDir Path dir;

  /** RGB PNGs of assorted sizes and aspect ratios, none the model's 32x32. */
  private Path images() throws Exception {
    Path d = Files.createDirectories(dir.resolve("calib"));
    Random r = new Random(5);
    int[][] sizes = {{40, 48}, {64, 64}, {50, 70}, {37, 33}, {90, 60}, {48, 40}};
    for (int i = 0; i < sizes.length; i++) {
      BufferedImage img = new BufferedImage(sizes[i][1], sizes[i][0], BufferedImage.TYPE_INT_RGB);
      for (int y = 0; y < img.getHeight(); y++) for (int x = 0; x < img.getWidth(); x++) img.setRGB(x, y, r.nextInt(1 << 24));
      ImageIO.write(img, "png", d.resolve("img" + i + ".png").toFile());
    }
    return d;
  }

  /** The text of one layer's block in a written prototxt, each line trimmed. */
  private static String block(String prototxt, String layer) {
    int at = prototxt.indexOf("name: \"" + layer + "\"");
    int start = prototxt.lastIndexOf("layer {", at);
    int depth = 0;
    int end = start;
    for (int i = start; i < prototxt.length(); i++) {
      char c = prototxt.charAt(i);
      if (c == '{') depth++;
      if (c == '}' && --depth == 0) {
        end = i + 1;
        break;
      }
    }
    return trimmed(prototxt.substring(start, end));
  }

  private static String trimmed(String text) {
    StringBuilder b = new StringBuilder();
    for (String l : text.split("\\R")) b.append(l.trim()).append('\n');
    return b.toString();
  }

  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void ssdNetGoesThroughWithEveryConvQuantizedAndSsdLayersUnchanged() throws Exception {
    Path model = SsdNet.write(dir);
    Path calib = images();
    Path out = dir.resolve("ssd_chai.prototxt");
    Run r = Run.of("xportdnn", "--deploy_model", model.toString(), "--quantized_deploy_model", out.toString(),
        "--calibration_directory", calib.toString(), "--resize", "32", "--crop", "32", "--bitwidths", "8,8,8",
        "--master", "local[2]");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("calibrated on 6 images"), r.out());
    assertTrue(Files.readString(dir.resolve("ssd_chai.report.json")).contains("\"geometry\": \"resize 32, center crop 32x32\""));
    String text = Files.readString(out);
    NetParameter.Builder nb = NetParameter.newBuilder();
    TextFormat.merge(text, nb);
    NetParameter net = nb.build();
    assertEquals(SsdNet.PROTOTXT.split("layer \\{", -1).length - 1, net.getLayerCount());
    int convs = 0;
    for (LayerParameter l : net.getLayerList()) {
      if (l.getType().equals("Convolution")) {
        convs++;
        assertTrue(l.hasPrecisionParam(), l.getName());
        var p = l.getPrecisionParam();
        assertEquals("Xilinx", p.getQuantType());
        assertEquals(8, p.getBwParams(), l.getName());
        assertEquals(l.getConvolutionParam().getNumOutput(), p.getThParamsCount(), l.getName());
        assertTrue(p.getThLayerIn() > 0 && p.getThLayerOut() > 0, l.getName() + ": " + p);
      }
    }
    assertEquals(SsdNet.CONVS.size(), convs);
    // CHaiDNN's Xilinx table: Normalize and Permute carry thresholds too
    for (String name : List.of("conv3_norm", "conv3_norm_mbox_loc_perm", "conv4_mbox_conf_perm")) {
      LayerParameter l = net.getLayerList().stream().filter(x -> x.getName().equals(name)).findFirst().orElseThrow();
      assertTrue(l.hasPrecisionParam() && l.getPrecisionParam().getThLayerOut() > 0, name + ": " + l);
    }
    // the SSD layers' parameters, as this test wrote them, verbatim in the output
    Map<String, String> written = Map.of("conv3_norm_mbox_priorbox", SsdNet.PRIOR3, "conv4_mbox_priorbox", SsdNet.PRIOR4,
        "detection_out", SsdNet.DETECTION, "conv3_norm", SsdNet.NORM);
    written.forEach((layer, params) -> assertTrue(block(text, layer).contains(trimmed(params)),
        layer + " changed:\n" + block(text, layer) + "\nwritten:\n" + trimmed(params)));
    for (String passed : List.of("conv3_norm_mbox_priorbox", "conv4_mbox_priorbox", "mbox_priorbox", "detection_out")) {
      assertFalse(block(text, passed).contains("precision_param"), passed);
      assertTrue(r.err().contains("qspark: warning: layer '" + passed + "' ("), r.err());
    }
    // XportDNN's warning, one per layer without a precision_param, each naming it
    long without = net.getLayerList().stream().filter(l -> !l.hasPrecisionParam()).count();
    long warned = r.errorLines().stream().filter(l -> l.contains("gets no precision_param")).count();
    assertEquals(without, warned, r.err());
    assertTrue(r.err().contains("qspark: warning: layer 'mbox_conf_softmax' (Softmax) gets no precision_param"), r.err());
  }

  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void imagesOfAnotherSizeWithoutResizeSayWhichFlagsToGive() throws Exception {
    Path model = SsdNet.write(dir);
    Path calib = Files.createDirectories(dir.resolve("one"));
    BufferedImage img = new BufferedImage(48, 40, BufferedImage.TYPE_INT_RGB);
    ImageIO.write(img, "png", calib.resolve("a.png").toFile());
    Path out = dir.resolve("o.prototxt");
    Run r = Run.of("xportdnn", "--deploy_model", model.toString(), "--quantized_deploy_model", out.toString(),
        "--calibration_directory", calib.toString(), "--master", "local[2]");
    assertEquals(2, r.code(), r.err());
    List<String> errors = r.errorLines().stream().filter(l -> l.startsWith("qspark: error")).toList();
    assertEquals(1, errors.size(), r.err());
    assertTrue(errors.get(0).contains("--resize 32 --crop 32,32"), errors.get(0));
    assertFalse(Files.exists(out));
  }
}
