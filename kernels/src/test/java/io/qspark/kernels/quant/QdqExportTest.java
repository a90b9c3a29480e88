package io.qspark.kernels.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.onnx.proto.OnnxProto.ModelProto;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The exported QDQ model in ONNX Runtime computes what qspark's fake-quant executor computes:
 * the same logits to the bit on the 10,000 test images (the tie nudge makes ONNX's half-to-even
 * QuantizeLinear round like the DPU).
 */
class QdqExportTest {
  @ParameterizedTest
  @CsvSource({"resnet_s.onnx,8,10000,false", "mbv2_s.onnx,6,2000,false", "resnet_s.onnx,6,1000,true"})
  void onnxRuntimeAgreesWithFakeQuant(String file, int bits, int n, boolean unsigned, @TempDir Path dir) throws Exception {
    Model m = Model.load(Shared.model(file)).forInference();
    String in = m.graph().inputs().get(0).name();
    QuantConfig cfg = QuantConfig.defaults().withBits(bits).withUnsignedActivations(unsigned);
    QuantPlan plan = QuantPlan.of(m.graph(), cfg);
    ActivationStats stats = new ActivationStats();
    Executor ex = new Executor(m.graph());
    Tensor calib = Shared.images("train-images-idx3-ubyte.gz", 500);
    ex.run(Map.of(in, calib), stats.observer(plan), false);
    QuantizedModel qm = new QuantizedModel(m.graph(), plan, QuantParams.decide(m.graph(), plan, stats.histograms(), cfg));
    ModelProto proto = QdqExport.export(qm, m.graph(), 13);
    Path onnx = dir.resolve("q.onnx");
    Files.write(onnx, proto.toByteArray());

    Tensor test = Shared.testImages(n);
    float[] ours = qm.run(qm.executor(2), Map.of(in, test)).values().iterator().next().data();
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession s = env.createSession(onnx.toString(), new OrtSession.SessionOptions());
        OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(test.data()), new long[] {n, 1, 28, 28});
        OrtSession.Result r = s.run(Map.of(in, t))) {
      float[][] theirs = (float[][]) r.get(0).getValue();
      int differing = 0;
      for (int b = 0; b < n; b++) {
        for (int c = 0; c < 10; c++) if (Float.compare(theirs[b][c], ours[b * 10 + c]) != 0) differing++;
      }
      assertEquals(0, differing, "logits differing between ONNX Runtime and fake-quant");
    }
    assertTrue(proto.getMetadataPropsCount() > 10, "fix_points recorded in metadata");
  }
}
