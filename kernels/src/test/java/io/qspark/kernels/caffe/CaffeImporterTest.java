package io.qspark.kernels.caffe;

import io.qspark.kernels.tensor.ArgMax;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.caffe.proto.CaffeProto.BlobProto;
import io.qspark.kernels.caffe.proto.CaffeProto.BlobShape;
import io.qspark.kernels.caffe.proto.CaffeProto.LayerParameter;
import io.qspark.kernels.caffe.proto.CaffeProto.NetParameter;
import io.qspark.kernels.caffe.proto.CaffeProto.V1LayerParameter;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@Tag("slow")
class CaffeImporterTest {
  static final Path PROTOTXT = Shared.model("caffe/resnet_s.prototxt");

  /** The Caffe and ONNX forms of resnet_s compute the same logits and the same top-1 on all 10k test images. */
  @Test
  void resnetMatchesOnnxOnTheTestSet() throws Exception {
    Model caffe = Model.load(PROTOTXT);
    Model onnx = Model.load(Shared.model("resnet_s.onnx"));
    assertEquals("caffe", caffe.format());
    Executor ec = new Executor(caffe.graph());
    Executor eo = new Executor(onnx.graph());
    Tensor x = Shared.testImages(10_000);
    int[] labels = Shared.testLabels(10_000);
    int correctCaffe = 0, correctOnnx = 0, agree = 0;
    double maxDiff = 0;
    for (int i = 0; i < 10_000; i += 500) {
      Tensor xb = x.slice0(i, i + 500);
      float[] pc = ec.run(xb).data();
      // the ONNX model ends in logits, the Caffe one in Softmax: compare argmax, and logits before softmax
      float[] po = eo.run(xb).data();
      for (int b = 0; b < 500; b++) {
        int ac = ArgMax.of(pc, b * 10, 10), ao = ArgMax.of(po, b * 10, 10);
        if (ac == labels[i + b]) correctCaffe++;
        if (ao == labels[i + b]) correctOnnx++;
        if (ac == ao) agree++;
      }
      float[] probsOnnx = softmax(po);
      for (int j = 0; j < pc.length; j++) maxDiff = Math.max(maxDiff, Math.abs(pc[j] - probsOnnx[j]));
    }
    assertEquals(9309, correctOnnx);
    assertEquals(correctOnnx, correctCaffe);
    assertEquals(10_000, agree);
    assertTrue(maxDiff < 1e-5, "max probability difference " + maxDiff);
  }

  /** After BatchNorm folding the two graphs have the same compute nodes. */
  @Test
  void inferenceGraphHasTheOnnxShape() {
    Model caffe = Model.load(PROTOTXT).forInference();
    Model onnx = Model.load(Shared.model("resnet_s.onnx")).forInference();
    assertEquals(count(onnx, "Conv"), count(caffe, "Conv"));
    assertEquals(0, count(caffe, "BatchNormalization"));
    assertEquals(count(onnx, "Add"), count(caffe, "Add"));
  }

  static long count(Model m, String op) {
    return m.graph().nodes().stream().filter(n -> n.opType().equals(op)).count();
  }

  static float[] softmax(float[] logits) {
    float[] r = new float[logits.length];
    for (int b = 0; b < logits.length / 10; b++) {
      double m = Double.NEGATIVE_INFINITY, s = 0;
      for (int c = 0; c < 10; c++) m = Math.max(m, logits[b * 10 + c]);
      for (int c = 0; c < 10; c++) s += Math.exp(logits[b * 10 + c] - m);
      for (int c = 0; c < 10; c++) r[b * 10 + c] = (float) (Math.exp(logits[b * 10 + c] - m) / s);
    }
    return r;
  }
}
