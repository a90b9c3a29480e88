package io.qspark.job.bench;

import io.qspark.job.StandaloneCluster;
import io.qspark.job.eval.ModelIo;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.job.model.ModelBlob;
import io.qspark.job.preprocess.ImageLayout;
import io.qspark.job.preprocess.LabeledImage;
import io.qspark.job.spark.QatJob;
import io.qspark.job.spark.SparkRuntime;
import io.qspark.job.spark.SparkSettings;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantInfo;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.train.EpochOrder;
import io.qspark.kernels.train.LrSchedule;
import io.qspark.kernels.train.QatGradient;
import io.qspark.kernels.train.QatTrainer;
import io.qspark.kernels.train.QatWeights;
import io.qspark.kernels.train.QatWorker;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.executor.TaskMetrics;
import org.apache.spark.io.LZ4CompressionCodec;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobEnd;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.TaskInfo;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The parts of a QAT step of resnet18 at 224x224 (issue 20, item 3): {@link QatJob} itself,
 * unchanged, on synthetic images, global batch 2 x micro-batch (one micro-batch per task, one
 * task per executor), BatchNorm on batch statistics, SGD with momentum, 8-bit. A Spark listener
 * gives each step job's tasks (launch, finish, start of the result fetch, executor deserialize,
 * run and CPU time, result serialization, result bytes, GC), the hooks give each step's end on
 * the driver; so per step: the driver's time before the job (weights, broadcast, submission),
 * the slowest task and its pieces, the driver's time after the job (merge of the parts, their
 * sum, the optimizer) and what is left (scheduling). Then, in the same JVM, the pieces alone: the
 * broadcast's serialization and LZ4 (TorrentBroadcast's own) and the reverse an executor does,
 * a gradient part's Java serialization both ways (what a task result costs), the driver's sum
 * per part and optimizer step, and empty Spark jobs of 2 to 256 tasks (the scheduler's cost
 * per task). From these it prints the step-time model of BENCHMARKS.md ("QAT scaling model").
 *
 * <p>{@link #localTwoSlots} runs in local[2] (the broadcast is free there: the driver's block
 * manager holds the value); {@link #standaloneTwoExecutors} makes this JVM the driver of a real
 * standalone cluster on loopback (master, 2 workers x 1 core, executor JVMs running the
 * application jar: {@code mvn -o -q package -pl job -am -DskipTests} first), where executors
 * fetch the weights by TorrentBroadcast, timed from their own log lines.
 *
 * <p>mvn -o -q -Pbench test -pl job -am -Dtest=QatStepPartsBench -Dsurefire.failIfNoSpecifiedTests=false
 * [-Dqspark.bench.qat.micro=8] [-Dqspark.bench.steps=4]
 */
@Tag("bench")
class QatStepPartsBench {
  private static final int MICRO = Integer.getInteger("qspark.bench.qat.micro", 8);
  private static final int STEPS = Integer.getInteger("qspark.bench.steps", 4);
  private static final int WARM = 1;
  private static final int SLOTS = 2;
  private static final Path OUT = Path.of("target", "bench", "qat-step-parts.md");

  /** resnet18 with an 8-bit calibration on 2 synthetic images, and the training images. */
  private record Setup(ModelBlob blob, ScoringPlan plan, List<LabeledImage> images, EpochOrder order, Tensor one, int[] oneLabel) {}

  private static Setup setup() throws Exception {
    Path model = Path.of(System.getProperty("user.dir")).resolve("../../shared/models/imagenet/resnet18.onnx").normalize();
    Model m = Model.load(model).forInference();
    Graph graph = m.graph();
    QuantConfig cfg = QuantConfig.defaults();
    int per = 3 * 224 * 224;
    SplittableRandom r = new SplittableRandom(20);
    int n = SLOTS * MICRO * (WARM + STEPS);
    List<LabeledImage> images = new ArrayList<>();
    float[][] vals = new float[n][per];
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < per; k++) vals[i][k] = (float) (r.nextDouble() * 4 - 2);
      images.add(LabeledImage.ofValues("img" + i, vals[i], r.nextInt(1000)));
    }
    float[] calib = new float[2 * per];
    System.arraycopy(vals[0], 0, calib, 0, per);
    System.arraycopy(vals[1], 0, calib, per, per);
    Tensor in = Tensor.of(calib, 2, 3, 224, 224);
    QuantPlan qp = QuantPlan.of(graph, cfg);
    ActivationStats stats = new ActivationStats();
    new Executor(graph).run(Map.of(graph.inputs().get(0).name(), in), stats.observer(qp), false);
    stats.addImages(2);
    QuantParams params = QuantParams.decide(graph, qp, stats.histograms(), cfg);
    ModelBlob floatBlob = ModelBlob.of(model);
    ModelBlob blob = floatBlob.quantized(QuantInfo.write("resnet18.onnx", floatBlob.sha256(), cfg, qp, params, stats, graph));
    ScoringPlan plan = ScoringPlan.ofInputs(new ImageLayout(3, 224, 224, false), ModelIo.of(m), MICRO);
    return new Setup(blob, plan, images, new EpochOrder(n, SLOTS * MICRO, MICRO, 1), Tensor.of(vals[0].clone(), 1, 3, 224, 224),
        new int[] {images.get(0).label()});
  }

  private static QatTrainer.Settings settings(long total) {
    // conf/qat.yaml's optimizer; BatchNorm on batch statistics throughout (as the first 80% of a run)
    return new QatTrainer.Settings("sgd", 0.9, 1e-4, new LrSchedule(LrSchedule.Kind.COSINE, 1e-3, 0, total, 0, 1), total + 1, 0.1);
  }

  // ---------------------------------------------------------------- listener

  record TaskEnd(int stage, String executor, long launch, long finish, long gettingResult, long deserMs, long runMs, long cpuNs,
      long resultSerMs, long resultBytes, long gcMs) {}

  /** Jobs by description and the tasks of their stages, as the driver saw them. */
  static final class Recorder extends SparkListener {
    final Map<Integer, String> jobDesc = new TreeMap<>();
    final Map<Integer, long[]> jobTime = new TreeMap<>();
    final Map<Integer, Integer> stageJob = new TreeMap<>();
    final List<TaskEnd> tasks = new ArrayList<>();

    @Override
    public synchronized void onJobStart(SparkListenerJobStart e) {
      String d = e.properties() == null ? null : e.properties().getProperty("spark.job.description");
      jobDesc.put(e.jobId(), d == null ? "" : d);
      jobTime.put(e.jobId(), new long[] {e.time(), 0});
      for (Object s : scala.jdk.javaapi.CollectionConverters.asJava(e.stageIds())) stageJob.put((Integer) s, e.jobId());
    }

    @Override
    public synchronized void onJobEnd(SparkListenerJobEnd e) {
      jobTime.get(e.jobId())[1] = e.time();
    }

    @Override
    public synchronized void onTaskEnd(SparkListenerTaskEnd e) {
      TaskInfo i = e.taskInfo();
      TaskMetrics m = e.taskMetrics();
      if (m == null) return;
      tasks.add(new TaskEnd(e.stageId(), i.executorId(), i.launchTime(), i.finishTime(), i.gettingResultTime(),
          m.executorDeserializeTime(), m.executorRunTime(), m.executorCpuTime(), m.resultSerializationTime(), m.resultSize(),
          m.jvmGCTime()));
    }
  }

  /** One step's parts, ms unless named otherwise. */
  record Step(int step, double wall, double pre, double job, double post, double slowestTask, double deser, double run, double cpu,
      double resultSer, double resultFetch, double resultBytes, double gc, double bcastFetch, double sched) {}

  /** Runs WARM + STEPS QAT steps through QatJob and splits each measured step. */
  private static List<Step> runSteps(JavaSparkContext sc, Setup s, Map<Integer, Double> bcastFetchByStep) throws Exception {
    Recorder rec = new Recorder();
    sc.sc().addSparkListener(rec);
    long total = s.order().stepsPerEpoch();
    QatTrainer t = QatTrainer.start(QatJob.worker(s.blob()), settings(total), "bench");
    List<Long> ends = new ArrayList<>();
    long[] start = {System.currentTimeMillis()};
    QatJob.run(sc, sc.parallelize(s.images(), SLOTS), s.blob(), s.plan(), s.order(), 1, SLOTS, t, new QatJob.Hooks() {
      @Override
      public void afterStep(QatTrainer tr, QatGradient.Total g) {
        ends.add(System.currentTimeMillis());
      }

      @Override
      public void afterEpoch(QatTrainer tr, int epoch) {}
    });
    sc.sc().listenerBus().waitUntilEmpty();
    sc.sc().removeSparkListener(rec);
    List<Step> steps = new ArrayList<>();
    Pattern p = Pattern.compile("step (\\d+)/");
    synchronized (rec) {
      for (Map.Entry<Integer, String> j : rec.jobDesc.entrySet()) {
        Matcher mt = p.matcher(j.getValue());
        if (!mt.find()) continue;
        int k = Integer.parseInt(mt.group(1)); // 1-based
        if (k <= WARM) continue;
        long[] jt = rec.jobTime.get(j.getKey());
        long prevEnd = ends.get(k - 2), end = ends.get(k - 1);
        List<TaskEnd> ts = rec.tasks.stream().filter(x -> rec.stageJob.get(x.stage()) == (int) j.getKey()).toList();
        TaskEnd slow = ts.stream().max((a, b) -> Long.compare(a.finish() - a.launch(), b.finish() - b.launch())).orElseThrow();
        double slowest = slow.finish() - slow.launch();
        double fetch = ts.stream().mapToDouble(x -> x.gettingResult() > 0 ? x.finish() - x.gettingResult() : 0).average().orElse(0);
        double bc = bcastFetchByStep.getOrDefault(k, 0.0);
        double pre = jt[0] - prevEnd, job = jt[1] - jt[0], post = end - jt[1];
        steps.add(new Step(k, end - prevEnd, pre, job, post, slowest, avg(ts, x -> x.deserMs()), avg(ts, x -> x.runMs()),
            avg(ts, x -> x.cpuNs() / 1e6), avg(ts, x -> x.resultSerMs()), fetch, avg(ts, x -> x.resultBytes()),
            avg(ts, x -> x.gcMs()), bc, job - slowest));
      }
    }
    return steps;
  }

  private static double avg(List<TaskEnd> ts, java.util.function.ToDoubleFunction<TaskEnd> f) {
    return ts.stream().mapToDouble(f).average().orElse(0);
  }

  private static String table(String where, List<Step> steps) {
    StringBuilder b = new StringBuilder("### ").append(where).append(": QatJob steps, resnet18 224x224, ").append(SLOTS)
        .append(" tasks x micro-batch ").append(MICRO).append(" (global batch ").append(SLOTS * MICRO).append(")\n\n")
        .append("All ms (task columns: mean of the step's tasks). pre = driver before the job (weights, broadcast, submit); "
            + "post = driver after the job (merge, sum, optimizer); sched = job wall - slowest task (launch to result fetched).\n\n")
        .append("| step | wall | pre | job | post | slowest task | deser | run | CPU | bcast fetch | compute (run - fetch) "
            + "| result ser | result fetch+deser | result bytes | GC | sched |\n")
        .append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    List<double[]> rows = new ArrayList<>();
    for (Step s : steps) {
      double[] v = {s.wall(), s.pre(), s.job(), s.post(), s.slowestTask(), s.deser(), s.run(), s.cpu(), s.bcastFetch(),
          s.run() - s.bcastFetch(), s.resultSer(), s.resultFetch(), s.resultBytes(), s.gc(), s.sched()};
      rows.add(v);
      b.append(row(String.valueOf(s.step()), v));
    }
    double[] med = new double[rows.get(0).length];
    for (int i = 0; i < med.length; i++) {
      int c = i;
      med[i] = median(rows.stream().mapToDouble(r -> r[c]).toArray());
    }
    b.append(row("**median**", med));
    return b.toString();
  }

  private static String row(String name, double[] v) {
    StringBuilder b = new StringBuilder("| ").append(name);
    for (int i = 0; i < v.length; i++) {
      b.append(i == 12 ? String.format(Locale.ROOT, " | %,.0f", v[i]) : String.format(Locale.ROOT, " | %.0f", v[i]));
    }
    return b.append(" |\n").toString();
  }

  // ---------------------------------------------------------------- pieces in this JVM

  /** The parameters of the model, measured. Times in s, sizes in bytes. */
  record Params(double imgCpu, double imgWall, long gradBytes, double gradSer, double gradDeser, long bcastBytes,
      double bcastWrite, double bcastRead, double sumPerPart, double optimizer, double sched0, double schedPerTask,
      double driverBroadcastCall) {}

  private static Params pieces(JavaSparkContext sc, Setup s, StringBuilder out) throws Exception {
    QatWorker worker = QatJob.worker(s.blob());
    QatTrainer t = QatTrainer.start(worker, settings(1000), "pieces");
    QatWeights w = t.weights();
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    // compute: one micro-batch on this thread alone (single-threaded as a task)
    Tensor batch = Tensor.of(Arrays.copyOf(s.one().data(), MICRO * s.one().size()), MICRO, 3, 224, 224);
    int[] labels = new int[MICRO];
    for (int i = 0; i < MICRO; i++) {
      System.arraycopy(s.one().data(), 0, batch.data(), i * s.one().size(), s.one().size());
      labels[i] = i;
    }
    worker.gradient(w, s.one(), s.oneLabel()); // warm
    List<Double> wall = new ArrayList<>(), cpu = new ArrayList<>();
    QatGradient.Part part = null;
    for (int r = 0; r < 2; r++) {
      long c0 = mx.getCurrentThreadCpuTime(), t0 = System.nanoTime();
      part = worker.gradient(w, batch, labels);
      cpu.add((mx.getCurrentThreadCpuTime() - c0) / 1e9 / MICRO);
      wall.add((System.nanoTime() - t0) / 1e9 / MICRO);
    }
    // a task result: one part, Java serialization (spark.serializer's default, uncompressed)
    QatGradient one = new QatGradient().add(0, part);
    List<Double> ser = new ArrayList<>(), deser = new ArrayList<>();
    long gradBytes = 0;
    for (int r = 0; r < 5; r++) {
      long t0 = System.nanoTime();
      byte[] bytes = javaSer(one);
      long t1 = System.nanoTime();
      javaDeser(bytes);
      long t2 = System.nanoTime();
      gradBytes = bytes.length;
      ser.add((t1 - t0) / 1e9);
      deser.add((t2 - t1) / 1e9);
    }
    // TorrentBroadcast's blockifyObject: JavaSerializer into LZ4 (spark.broadcast.compress), and the reverse on an executor
    LZ4CompressionCodec lz4 = new LZ4CompressionCodec(sc.getConf());
    List<Double> bw = new ArrayList<>(), br = new ArrayList<>(), call = new ArrayList<>();
    long bcastBytes = 0;
    for (int r = 0; r < 5; r++) {
      long t0 = System.nanoTime();
      ByteArrayOutputStream bo = new ByteArrayOutputStream(64 << 20);
      try (ObjectOutputStream o = new ObjectOutputStream(lz4.compressedOutputStream(bo))) {
        o.writeObject(w);
      }
      long t1 = System.nanoTime();
      try (ObjectInputStream in = new ObjectInputStream(lz4.compressedInputStream(new ByteArrayInputStream(bo.toByteArray())))) {
        in.readObject();
      }
      long t2 = System.nanoTime();
      Broadcast<QatWeights> b = sc.broadcast(t.weights());
      long t3 = System.nanoTime();
      b.destroy();
      bcastBytes = bo.size();
      bw.add((t1 - t0) / 1e9);
      br.add((t2 - t1) / 1e9);
      call.add((t3 - t2) / 1e9);
    }
    // the driver's sum of the parts (QatGradient.total) per part, and the optimizer (apply minus total)
    double[] perPart = new double[3];
    int[] ms = {2, 8, 16};
    for (int i = 0; i < ms.length; i++) {
      QatGradient g = new QatGradient();
      for (int k = 0; k < ms[i]; k++) g.add(k, part);
      List<Double> v = new ArrayList<>();
      for (int r = 0; r < 3; r++) {
        long t0 = System.nanoTime();
        g.total();
        v.add((System.nanoTime() - t0) / 1e9);
      }
      perPart[i] = median(v);
    }
    double sumPerPart = (perPart[2] - perPart[0]) / (ms[2] - ms[0]);
    List<Double> opt = new ArrayList<>();
    for (int r = 0; r < 5; r++) {
      QatGradient g = new QatGradient().add(0, part);
      long t0 = System.nanoTime();
      g.total();
      long t1 = System.nanoTime();
      t.apply(g);
      long t2 = System.nanoTime();
      opt.add(((t2 - t1) - (t1 - t0)) / 1e9);
    }
    // the scheduler: empty jobs of P tasks (closure, launch, status, result), least squares over P
    int[] ps = {2, 8, 32, 128, 256};
    double[] jt = new double[ps.length];
    for (int i = 0; i < ps.length; i++) {
      List<Integer> data = new ArrayList<>();
      for (int k = 0; k < ps[i]; k++) data.add(k);
      sc.parallelize(data, ps[i]).map(x -> x + 1).collect();
      List<Double> v = new ArrayList<>();
      for (int r = 0; r < 5; r++) {
        long t0 = System.nanoTime();
        sc.parallelize(data, ps[i]).map(x -> x + 1).collect();
        v.add((System.nanoTime() - t0) / 1e9);
      }
      jt[i] = median(v);
    }
    double mx0 = Arrays.stream(ps).average().orElse(0), my = Arrays.stream(jt).average().orElse(0), sxy = 0, sxx = 0;
    for (int i = 0; i < ps.length; i++) {
      sxy += (ps[i] - mx0) * (jt[i] - my);
      sxx += (ps[i] - mx0) * (ps[i] - mx0);
    }
    double s1 = sxy / sxx, s0 = my - s1 * mx0;
    long paramCount = 0;
    for (float[] g : part.gradients()) paramCount += g.length;
    Params p = new Params(median(cpu), median(wall), gradBytes, median(ser), median(deser), bcastBytes, median(bw), median(br),
        sumPerPart, median(opt), s0, s1, median(call));
    out.append(String.format(Locale.ROOT, "### Pieces alone, in this JVM (medians)\n\n"
        + "| piece | value |\n|---|---:|\n"
        + "| trainable parameters | %,d (%d tensors) |\n"
        + "| QAT forward+backward, one thread, micro-batch %d | %.3f s CPU / %.3f s wall per image |\n"
        + "| gradient part (task result), Java serialization | %,d B; write %.3f s (%.2f GB/s), read %.3f s (%.2f GB/s) |\n"
        + "| weights broadcast: Java serialization + LZ4 (TorrentBroadcast) | %,d B; write %.3f s, read (executor) %.3f s |\n"
        + "| sc.broadcast(weights) on the driver | %.3f s |\n"
        + "| driver sum (QatGradient.total) per part | %.4f s (%d, %d, %d parts: %.3f, %.3f, %.3f s) |\n"
        + "| driver optimizer (SGD momentum, weight decay) | %.4f s |\n"
        + "| empty Spark job of P tasks, local[2] | %.4f s + %.5f s x P (P = 2..256: %s s) |\n\n",
        paramCount, part.gradients().length, MICRO, p.imgCpu(), p.imgWall(), gradBytes, p.gradSer(), gradBytes / p.gradSer() / 1e9,
        p.gradDeser(), gradBytes / p.gradDeser() / 1e9, bcastBytes, p.bcastWrite(), p.bcastRead(), p.driverBroadcastCall(),
        sumPerPart, ms[0], ms[1], ms[2], perPart[0], perPart[1], perPart[2], p.optimizer(), s0, s1, fmt(jt)));
    return p;
  }

  private static byte[] javaSer(Object o) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream(64 << 20);
    try (ObjectOutputStream out = new ObjectOutputStream(b)) {
      out.writeObject(o);
    }
    return b.toByteArray();
  }

  private static Object javaDeser(byte[] b) throws Exception {
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(b))) {
      return in.readObject();
    }
  }

  // ---------------------------------------------------------------- the model

  /**
   * Step time of the current funnel (weak scaling: every executor one task of b images):
   * driver writes the broadcast; executors fetch it (torrent, 4 MiB blocks); compute; serialize
   * one part each; the driver receives E parts over its link (treeAggregate beyond 16 parts
   * adds a shuffle hop of sqrt(E) parts per reducer and no reduction: the parts are kept, not
   * summed); the driver deserializes them on its 4 result-getter threads, sums them one by one
   * and steps the optimizer; scheduling per job.
   */
  static double funnel(Params p, int e, double gbit, int b) {
    double bw = gbit * 1e9 / 8;
    double block = 4 << 20;
    double bcast = p.driverBroadcastCall() + p.bcastBytes() / bw + Math.ceil(Math.log(e) / Math.log(2)) * block / bw + p.bcastRead();
    double compute = b * p.imgCpu();
    double gather = Math.max(e * p.gradBytes() / bw, e * p.gradDeser() / 4);
    double tree = 0;
    if (e > 16) {
      double fanIn = Math.ceil(Math.sqrt(e));
      tree = fanIn * p.gradBytes() / bw + fanIn * (p.gradDeser() + p.gradSer()) + p.sched0() + p.schedPerTask() * fanIn;
    }
    double driver = e * p.sumPerPart() + p.optimizer();
    double sched = p.sched0() + p.schedPerTask() * e;
    return bcast + compute + p.gradSer() + gather + tree + driver + sched;
  }

  /**
   * The alternative: each executor cuts its part into E slices, reduce-scatters them (every
   * executor sums its slice's E parts in micro-batch order), steps the optimizer on its slice,
   * all-gathers the weights; per executor 2 (E-1)/E x gradient bytes each way, a per-fetch
   * latency alpha per peer and phase, two stages scheduled per step. The driver sees only the
   * loss and BatchNorm statistics.
   */
  static double exchange(Params p, int e, double gbit, int b) {
    double bw = gbit * 1e9 / 8;
    double alpha = 1e-3;
    double compute = b * p.imgCpu();
    double move = 2.0 * (e - 1) / e * p.gradBytes() / bw + 2 * (e - 1) * alpha;
    double serde = p.gradSer() + p.gradDeser(); // slices out, slices in: one part's worth each way
    double local = p.sumPerPart() + p.optimizer() / e;
    double weights = p.gradSer() + p.gradDeser(); // the all-gathered weight slices, written and read
    double sched = 2 * (p.sched0() + p.schedPerTask() * e);
    return compute + move + serde + local + weights + sched;
  }

  private static String modelTables(Params p, String where) {
    int[] es = {8, 16, 32, 64, 128, 256};
    double[] bws = {1, 10, 25};
    StringBuilder b = new StringBuilder("### Model from the ").append(where).append(" parameters: step time s (efficiency T(1)/T(E)), weak scaling\n\n");
    for (int batch : new int[] {32, MICRO}) {
      b.append("Per-executor batch ").append(batch).append(" (one task of ").append(batch).append(" images per executor):\n\n")
          .append("| exchange | Gbit/s | T(1) |");
      for (int e : es) b.append(" E=").append(e).append(" |");
      b.append("\n|---|---:|---:|");
      for (int e : es) b.append("---:|");
      b.append('\n');
      for (String kind : List.of("funnel (now)", "reduce-scatter + all-gather")) {
        for (double g : bws) {
          boolean f = kind.startsWith("funnel");
          double t1 = f ? funnel(p, 1, g, batch) : exchange(p, 1, g, batch);
          b.append(String.format(Locale.ROOT, "| %s | %.0f | %.2f |", kind, g, t1));
          for (int e : es) {
            double te = f ? funnel(p, e, g, batch) : exchange(p, e, g, batch);
            b.append(String.format(Locale.ROOT, " %.2f (%.0f%%) |", te, 100 * t1 / te));
          }
          b.append('\n');
        }
      }
      b.append('\n');
    }
    b.append("Strong scaling at 10 Gbit/s: a fixed global batch over E executors (Bg/E images each); efficiency T(1)/(E T(E)), "
        + "T(1) one executor computing all Bg:\n\n| exchange | global batch | T(1) |");
    for (int e : es) b.append(" E=").append(e).append(" |");
    b.append("\n|---|---:|---:|");
    for (int e : es) b.append("---:|");
    b.append('\n');
    for (String kind : List.of("funnel (now)", "reduce-scatter + all-gather")) {
      for (int bg : new int[] {256, 1024}) {
        boolean f = kind.startsWith("funnel");
        double t1 = f ? funnel(p, 1, 10, bg) : exchange(p, 1, 10, bg);
        b.append(String.format(Locale.ROOT, "| %s | %d | %.2f |", kind, bg, t1));
        for (int e : es) {
          double te = f ? funnel(p, e, 10, bg / e) : exchange(p, e, 10, bg / e);
          b.append(String.format(Locale.ROOT, " %.2f (%.0f%%) |", te, 100 * t1 / (e * te)));
        }
        b.append('\n');
      }
    }
    b.append('\n');
    return b.toString();
  }

  // ---------------------------------------------------------------- the tests

  @Test
  void localTwoSlots() throws Exception {
    Setup s = setup();
    StringBuilder b = header("local[2]");
    try (SparkRuntime spark = SparkRuntime.start("qat parts", new SparkSettings("local[2]", 0))) {
      JavaSparkContext sc = spark.context();
      List<Step> steps = runSteps(sc, s, Map.of());
      b.append(table("local[2]", steps)).append('\n');
      Params p = pieces(sc, s, b);
      b.append(modelTables(p, "local[2]"));
      b.append("Measured QatJob step in local[2]: median wall ")
          .append(String.format(Locale.ROOT, "%.2f s; the model's funnel at E=2, b=%d, no network: %.2f s%n%n",
              median(steps.stream().mapToDouble(Step::wall).toArray()) / 1e3, MICRO, funnel(p, 2, 1e6, MICRO)));
    }
    finish(b);
  }

  @Test
  void standaloneTwoExecutors() throws Exception {
    Setup s = setup();
    StringBuilder b = header("standalone, 2 workers x 1 core, this JVM the driver");
    ScalingBench.setClusterDefaults();
    Path dir = Files.createTempDirectory("qspark-qat-parts");
    try (StandaloneCluster cluster = StandaloneCluster.start(dir, SLOTS, 1)) {
      SparkConf conf = new SparkConf().setMaster(cluster.masterUrl()).setAppName("qat parts")
          .set("spark.jars", System.getProperty("qspark.app.jar"))
          .set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1")
          .set("spark.executor.extraJavaOptions", System.getProperty("qspark.jvm.options"))
          .set("spark.executor.memory", "2500m").set("spark.cores.max", String.valueOf(SLOTS)).set("spark.ui.enabled", "false")
          .set("spark.scheduler.minRegisteredResourcesRatio", "1.0")
          .set("spark.scheduler.maxRegisteredResourcesWaitingTime", "120s");
      SparkSession session = SparkSession.builder().config(conf).getOrCreate();
      try {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(session.sparkContext());
        // the broadcast fetch times are in the executors' logs; steps are matched to the large reads in id order
        List<Step> first = runSteps(sc, s, Map.of());
        Map<Integer, Double> fetch = broadcastReads(dir);
        List<Step> steps = new ArrayList<>();
        for (Step st : first) {
          double f = fetch.getOrDefault(st.step(), 0.0);
          steps.add(new Step(st.step(), st.wall(), st.pre(), st.job(), st.post(), st.slowestTask(), st.deser(), st.run(), st.cpu(),
              st.resultSer(), st.resultFetch(), st.resultBytes(), st.gc(), f, st.sched()));
        }
        b.append(table("standalone", steps)).append('\n').append("Executor broadcast reads (weights, by step): ")
            .append(fetch).append(" ms (mean over executors)\n\n");
      } finally {
        session.stop();
      }
    }
    finish(b);
  }

  /**
   * The funnel's memory wall, shown: a step of 24 micro-batches of one image on 24 partitions
   * (PartMerge's treeAggregate path) returns 24 kept parts of resnet18's gradient, about 1.1 GB,
   * to the driver; Spark's default spark.driver.maxResultSize is 1 GiB. Prints what happened.
   */
  @Test
  void manyMicroBatchesAgainstMaxResultSize() throws Exception {
    Setup s = setup();
    int parts = 24;
    EpochOrder order = new EpochOrder(parts, parts, 1, 1);
    StringBuilder b = header("local[2], one step of " + parts + " micro-batches of 1 image on " + parts + " partitions");
    try (SparkRuntime spark = SparkRuntime.start("qat parts", new SparkSettings("local[2]", 0))) {
      JavaSparkContext sc = spark.context();
      QatTrainer t = QatTrainer.start(QatJob.worker(s.blob()), settings(1), "bench");
      long t0 = System.nanoTime();
      String outcome;
      try {
        QatJob.run(sc, sc.parallelize(s.images().subList(0, parts), SLOTS), s.blob(), s.plan(), order, 1, parts, t,
            new QatJob.Hooks() {
              @Override
              public void afterStep(QatTrainer tr, QatGradient.Total g) {}

              @Override
              public void afterEpoch(QatTrainer tr, int epoch) {}
            });
        outcome = "the step finished (steps done: " + t.step() + ")";
      } catch (RuntimeException e) {
        Throwable c = e;
        StringBuilder why = new StringBuilder();
        for (; c != null; c = c.getCause()) if (c.getMessage() != null) why.append(" / ").append(c.getMessage().lines().findFirst().orElse(""));
        outcome = "the step failed: " + e.getClass().getSimpleName() + why;
      }
      b.append(String.format(Locale.ROOT, "%s, after %.1f s; spark.driver.maxResultSize = %s%n%n", outcome,
          (System.nanoTime() - t0) / 1e9, sc.getConf().get("spark.driver.maxResultSize", "1g (default)")));
    }
    finish(b);
  }

  /** Mean per step over executors of "Reading broadcast variable N took X ms" for the weights' broadcasts. */
  private static Map<Integer, Double> broadcastReads(Path dir) throws IOException {
    Pattern started = Pattern.compile("Started reading broadcast variable (\\d+) with (\\d+) pieces");
    Pattern took = Pattern.compile("Reading broadcast variable (\\d+) took (\\d+) ms");
    Map<Integer, List<Double>> byStep = new TreeMap<>();
    List<Path> logs;
    try (Stream<Path> w = Files.walk(dir)) {
      logs = w.filter(x -> x.getFileName().toString().equals("stderr") && x.toString().contains("/app-")).toList();
    }
    for (Path log : logs) {
      TreeMap<Integer, Integer> pieces = new TreeMap<>();
      TreeMap<Integer, Double> ms = new TreeMap<>();
      for (String line : Files.readAllLines(log)) {
        Matcher a = started.matcher(line);
        if (a.find()) pieces.put(Integer.parseInt(a.group(1)), Integer.parseInt(a.group(2)));
        Matcher c = took.matcher(line);
        if (c.find()) ms.put(Integer.parseInt(c.group(1)), Double.parseDouble(c.group(2)));
      }
      // the weights: the large broadcasts after the first (the model blob), one per step
      List<Integer> large = pieces.entrySet().stream().filter(en -> en.getValue() > 2).map(Map.Entry::getKey).toList();
      List<Integer> weights = large.subList(Math.max(0, large.size() - (WARM + STEPS)), large.size());
      for (int i = 0; i < weights.size(); i++) {
        Double v = ms.get(weights.get(i));
        if (v != null) byStep.computeIfAbsent(i + 1 + (WARM + STEPS - weights.size()), k -> new ArrayList<>()).add(v);
      }
    }
    Map<Integer, Double> r = new TreeMap<>();
    byStep.forEach((k, v) -> r.put(k, v.stream().mapToDouble(Double::doubleValue).average().orElse(0)));
    return r;
  }

  private static StringBuilder header(String where) throws Exception {
    return new StringBuilder("## QAT step parts, ").append(where).append(", ").append(java.time.Instant.now()).append(", commit ")
        .append(commit()).append(", ").append(cpuModel()).append(", load before ").append(loadAverage()).append("\n\n");
  }

  private static void finish(StringBuilder b) throws IOException {
    b.append("load after: ").append(loadAverage()).append("\n\n");
    System.out.println(b);
    Files.createDirectories(OUT.getParent());
    Files.writeString(OUT, b.toString(), StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  private static String commit() {
    try {
      Process p = new ProcessBuilder("git", "describe", "--always", "--dirty=+ local changes").redirectErrorStream(true).start();
      try (InputStream in = p.getInputStream()) {
        return new String(in.readAllBytes()).trim();
      }
    } catch (IOException e) {
      return "?";
    }
  }

  private static String cpuModel() throws IOException {
    for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) if (l.startsWith("model name")) return l.substring(l.indexOf(':') + 2);
    return "?";
  }

  private static String loadAverage() throws IOException {
    String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
    return f[0] + " " + f[1] + " " + f[2];
  }


  private static String fmt(double[] v) {
    StringBuilder b = new StringBuilder();
    for (double x : v) b.append(b.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.4f", x));
    return b.toString();
  }

  private static double median(List<Double> v) {
    return median(v.stream().mapToDouble(Double::doubleValue).toArray());
  }

  private static double median(double[] a) {
    a = a.clone();
    Arrays.sort(a);
    return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
  }
}
