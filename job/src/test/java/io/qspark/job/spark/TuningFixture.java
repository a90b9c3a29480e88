package io.qspark.job.spark;

import io.qspark.job.eval.ModelIo;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.job.model.ModelBlob;
import io.qspark.job.preprocess.ImageLayout;
import io.qspark.job.preprocess.LabeledImage;
import io.qspark.kernels.data.Idx;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.tensor.Tensor;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What the layer-wise tuning tests on Spark start from: resnet_s at 4 bits calibrated on the
 * first {@code images} Fashion-MNIST training images (normalized as the models README says),
 * the same images as records for an RDD and as one tensor for the single-JVM shards.
 */
record TuningFixture(ModelBlob blob, Graph graph, QuantConfig cfg, QuantParams params, Tensor input,
    List<LabeledImage> images, ScoringPlan plan) {

  static TuningFixture resnetS(int count) throws Exception {
    Path model = Path.of("../../shared/models/resnet_s.onnx");
    Model m = Model.load(model).forInference();
    Graph graph = m.graph();
    QuantConfig cfg = QuantConfig.defaults().withBits(4);
    Tensor input;
    try (InputStream in = Files.newInputStream(Path.of("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"))) {
      Idx.Array a = Idx.read(in, "train", count);
      float[] x = new float[a.data().length];
      for (int i = 0; i < x.length; i++) x[i] = ((a.data()[i] & 0xff) - 72.94f) / 90.02f;
      input = Tensor.of(x, count, 1, 28, 28);
    }
    QuantPlan qp = QuantPlan.of(graph, cfg);
    ActivationStats stats = new ActivationStats();
    new Executor(graph).run(Map.of(graph.inputs().get(0).name(), input), stats.observer(qp), false);
    QuantParams params = QuantParams.decide(graph, qp, stats.histograms(), cfg);
    List<LabeledImage> images = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      images.add(LabeledImage.ofValues("img" + i, java.util.Arrays.copyOfRange(input.data(), i * 784, (i + 1) * 784), 0));
    }
    ScoringPlan plan = ScoringPlan.ofInputs(new ImageLayout(1, 28, 28, false), ModelIo.of(m), 32);
    return new TuningFixture(ModelBlob.of(model), graph, cfg, params, input, images, plan);
  }
}
