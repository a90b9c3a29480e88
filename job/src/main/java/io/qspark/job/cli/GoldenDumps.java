package io.qspark.job.cli;

import io.qspark.dpu.DeployFormat;
import io.qspark.dpu.GoldenDump;
import io.qspark.job.data.DataSource;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.job.output.DumpFolder;
import io.qspark.job.spark.GoldenDumpJob;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.QuantInfo;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.QuantizedModel;
import java.io.PrintWriter;
import org.apache.spark.api.java.JavaSparkContext;

/** simulate --dump: the deploy folder's models to a golden dump folder, committed when complete. */
final class GoldenDumps {
  private GoldenDumps() {}

  /**
   * @param deployModel deploy_model.pb's bytes (already checked)
   * @param floatModel the deploy folder's float_model.onnx, {@code quantInfo} its quant_info.json:
   *     the fake-quant model the dump holds beside the integers
   */
  static void write(JavaSparkContext sc, DataSource data, ScoringPlan plan, byte[] deployModel, Model floatModel,
      String quantInfo, int images, DumpFolder.Writer to, PrintWriter log) {
    Graph g = floatModel.forInference().graph();
    QuantInfo.Parsed q = QuantInfo.read(quantInfo);
    QuantizedModel fq = new QuantizedModel(g, QuantPlan.of(g, q.config()), q.params());
    GoldenDump.Index index = GoldenDumpJob.write(sc, data, plan, DeployFormat.parse(deployModel, "deploy model"), fq, images, to);
    to.commit();
    log.println("golden dump of " + images + " image" + (images == 1 ? "" : "s") + ", " + index.layers().size()
        + " layers each: " + to.shown());
    log.flush();
  }
}
