package io.qspark.job.app;

import io.qspark.dpu.GoldenDump;
import io.qspark.job.eval.ModelIo;
import io.qspark.job.eval.SimulationCounts;
import io.qspark.job.model.ModelBlob;
import io.qspark.job.model.ModelSignature;
import io.qspark.job.output.DeployFolder;
import io.qspark.job.output.DumpFolder;
import io.qspark.job.output.SimulationFolder;
import io.qspark.job.output.PredictionsTable;
import io.qspark.job.output.RunInputs;
import io.qspark.job.report.Provenance;
import io.qspark.job.spark.ModelOutputs;
import io.qspark.job.spark.PredictionJob;
import io.qspark.job.spark.LazySpark;
import io.qspark.job.spark.GoldenDumpJob;
import io.qspark.job.spark.SegmentationJob;
import io.qspark.job.spark.SimulationJob;
import io.qspark.kernels.io.Json;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.QuantInfo;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.QuantizedModel;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Runs a deploy model in the bit-exact integer simulator over a data set as a Spark job, checked
 * as it goes against the fake-quant model it was compiled from: output integers that differ on
 * every output, each simulated output's SQNR, cosine and largest difference against the float
 * model, and for a classifier top-1, agreement with float and float/fake-quant top-1. Preprocessing is
 * the deploy folder's record unless given; optionally writes the figures as a folder and each
 * image's simulated outputs as a table.
 */
public final class Simulate {
  private final Notices notices;

  public Simulate() {
    this(Notices.LOG);
  }

  public Simulate(Notices notices) {
    this.notices = notices;
  }

  public SimulateResult run(SimulateSettings s) {
    RunInputs inputs = RunInputs.none().with("--deploy", s.deploy()).and(s.data().inputs());
    if (s.metric() != null) inputs = inputs.with("--labels", s.metric().masks());
    // the outputs are checked (apart from the inputs and each other) before anything is read
    try (SimulationFolder.Writer out = s.out() == null ? null
            : SimulationFolder.create(s.out().location(), s.out().overwrite(), inputs);
        PredictionsTable.Writer predictions = s.predictions() == null ? null
            : PredictionsTable.create(s.predictions().location(), s.predictions().overwrite(),
                s.out() == null ? inputs : inputs.with("--out", s.out().location()));
        // the dump lands neither on the inputs nor on the other outputs
        DumpFolder.Writer dump = s.dump() == null ? null
            : DumpFolder.create(s.dump().out().location(), s.dump().out().overwrite(), outputs(inputs, s));
        LazySpark spark = new LazySpark("qspark simulate", s.spark())) {
      DeployFolder dep = DeployFolder.open(s.deploy());
      if (!dep.sealed()) {
        notices.warning(dep.deployModelShown() + " has no content digest (an older qspark wrote it): its fields' ranges are"
            + " checked, damaged weights would go unnoticed; deploy the calibration again to add one");
      }
      Model m = dep.floatModel();
      ModelSignature sig = ModelSignature.of(m);
      ModelIo io = ModelIo.of(sig, m.graph().batchChunk(), m.source());
      ImageInputs in = ImageInputs.open(s.data(), s.preprocess(), dep.preprocessing().orElse(null), dep.shown(), spark, sig,
          io, s.batch());
      if (io.classifier() && s.metric() == null) in.images.requireLabels(io.classes());
      SegmentationJob.Target target = s.metric() == null ? null : Segmentation.target(s.metric(), sig, in.images);
      s.spark().requireFits(in.images.count());
      ModelBlob blob = dep.quantizedBlob();
      SimulationJob.Deployed deployed = new SimulationJob.Deployed(dep.deployModelBytes(), dep.deployModelSha256());
      int partitions = in.partitions(s.spark(), spark);
      in.warnIfUnnormalized(spark, notices);
      long t0 = System.nanoTime();
      SimulationCounts counts = SimulationJob.run(spark.runtime().context(), in.images, blob, deployed, in.plan, partitions);
      double seconds = (System.nanoTime() - t0) / 1e9;
      // before anything is written: a bad mask stops the run with nothing in place
      Segmentation miou = target == null ? null
          : Segmentation.run(spark.runtime().context(), in.images, new ModelOutputs.Spec(ModelOutputs.Mode.FLOAT, blob, null),
              new ModelOutputs.Spec(ModelOutputs.Mode.INTEGER, blob, deployed), in.plan, partitions, target);
      // a second pass, after the figures' timing: the outputs of every image, written as a table
      if (predictions != null) {
        ModelOutputs.Spec spec = new ModelOutputs.Spec(ModelOutputs.Mode.INTEGER, blob, deployed);
        predictions.commit(PredictionJob.table(spark.get(), in.images, spec,
            new ModelOutputs.Spec(ModelOutputs.Mode.FLOAT, blob, null), in.plan, partitions,
            sig.outputs().stream().map(ModelSignature.Port::name).toList()));
      }
      SimulateResult.DumpWritten dumped = dump == null ? null
          : writeDump(spark.runtime().context(), in, dep, m, s.dump().images(), dump);
      String where = String.format(Locale.ROOT, "%s, %d partitions, batch %d", spark.runtime().master(), partitions, in.plan.batch());
      SimulateResult r = SimulateResult.of(dep.deployModelShown() + " (integer simulation)", in.images.describe(), in.steps(),
          where, seconds, counts, io.classifier(), s.maxTop1Drop(), out == null ? null : out.shown()).withDump(dumped)
          .withSegmentation(miou);
      if (out != null) {
        Provenance p = new Provenance(Provenance.model(dep.deployModelShown(), dep.shown(), dep.deployModelSha256()),
            Provenance.data(s.data().location(), in.images.describe(), in.images.count(), in.images.digest().json()), s.json());
        out.commit(Json.write(report(dep, r, spark.runtime().master(), partitions, in, p)), "qspark simulate: " + dep.shown(),
            dep.quantInfoJson(), in.record);
      }
      return r;
    }
  }

  private static RunInputs outputs(RunInputs inputs, SimulateSettings s) {
    RunInputs r = inputs;
    if (s.out() != null) r = r.with("--out", s.out().location());
    if (s.predictions() != null) r = r.with("--predictions", s.predictions().location());
    return r;
  }

  /** The golden dump: the deploy model's integers beside the fake-quant model's tensors, committed when complete. */
  private static SimulateResult.DumpWritten writeDump(JavaSparkContext sc, ImageInputs in, DeployFolder dep, Model floatModel, int images,
      DumpFolder.Writer to) {
    Graph g = floatModel.forInference().graph();
    QuantInfo.Parsed q = QuantInfo.read(dep.quantInfoJson());
    QuantizedModel fq = new QuantizedModel(g, QuantPlan.of(g, q.config()), q.params());
    GoldenDump.Index index = GoldenDumpJob.write(sc, in.images, in.plan, dep.deployModel(), fq, images, to);
    String shown = to.shown();
    to.commit();
    return new SimulateResult.DumpWritten(shown, images, index.layers().size());
  }

  /** report.json: the figures, and the deploy folder's partition and calibration report. */
  private static Map<String, Object> report(DeployFolder dep, SimulateResult res, String master, int partitions,
      ImageInputs in, Provenance provenance) {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("command", "simulate");
    r.put("deploy_folder", dep.shown());
    r.put("data", res.data());
    r.put("preprocessing", in.record.json());
    Map<String, Object> sim = new LinkedHashMap<>();
    sim.put("images", res.images());
    res.classification().ifPresent(c -> {
      sim.put("top1", c.top1());
      sim.put("float_top1", c.floatTop1());
      sim.put("fake_quant_top1", c.fakeQuantTop1());
      sim.put("agreement_with_float", c.agreementWithFloat());
    });
    sim.put("output_integers", res.outputIntegers());
    sim.put("mismatches", res.mismatches());
    sim.put("mismatches_per_output", new LinkedHashMap<String, Object>(res.mismatchesPerOutput()));
    Map<String, Object> fidelity = new LinkedHashMap<>();
    res.fidelity().forEach((k, f) -> fidelity.put(k, f.json()));
    sim.put("outputs_against_float", fidelity);
    res.segmentation().ifPresent(g -> sim.put("segmentation", g.json("simulated")));
    r.put("simulation", sim);
    Map<String, Object> run = new LinkedHashMap<>();
    run.put("master", master);
    run.put("partitions", partitions);
    run.put("qspark", io.qspark.job.base.Build.version());
    r.put("run", run);
    Map<String, Object> timings = new LinkedHashMap<>();
    timings.put("simulation_s", Math.round(res.seconds() * 1000) / 1000.0);
    r.put("timings", timings);
    dep.report().ifPresent(deployed -> {
      if (deployed.get("partition") != null) r.put("partition", deployed.get("partition"));
      if (deployed.get("calibration") != null) r.put("calibration", deployed.get("calibration"));
    });
    r.put("provenance", provenance.json());
    return r;
  }
}
