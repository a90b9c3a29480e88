package io.qspark.job.spark;

import io.qspark.job.model.ModelBlob;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.train.ExactGradient;
import io.qspark.kernels.train.RoundingFit;
import io.qspark.kernels.train.Shard;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.rpc.RpcCallContext;
import org.apache.spark.rpc.RpcEndpointRef;
import org.apache.spark.rpc.RpcEnv;
import org.apache.spark.rpc.RpcTimeout;
import org.apache.spark.rpc.ThreadSafeRpcEndpoint;
import org.apache.spark.util.RpcUtils;
import scala.PartialFunction;
import scala.concurrent.duration.FiniteDuration;
import scala.jdk.javaapi.FutureConverters;
import scala.runtime.AbstractPartialFunction;
import scala.runtime.BoxedUnit;
import org.apache.spark.Dependency;
import org.apache.spark.NarrowDependency;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.rdd.RDD;
import org.apache.spark.resource.ResourceProfile;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/**
 * A layer's AdaRound steps in one barrier job instead of one job per step. Every task holds a
 * shard and a copy of the {@link RoundingFit}; per step it computes its shard's exact gradient
 * part and sends it to an endpoint on the driver ({@link Merger}), which, once every partition's
 * part of the step is in, merges them in partition order and answers every task with the total;
 * each task takes the same step with it. The parts are exact sums ({@link ExactGradient}:
 * integer addition), so the total is the bits the driver's merge gives in the per-step path, and
 * so is every task's fit: the result equals the per-step jobs' bit for bit (tested), and the
 * tasks' fits are checked against each other at the end.
 *
 * <p>Why: a Spark job costs 11-13 ms on local[2] even when it computes nothing
 * ({@code SparkJobCostBench}, BENCHMARKS.md), against 6-7 ms of work in a step of resnet_s; an
 * exchange is one RPC round trip. Not {@link org.apache.spark.BarrierTaskContext#allGather}:
 * Spark 4.0 waits for its answer in steps of a whole second ({@code Thread.sleep(1000)} in
 * {@code BarrierTaskContext.runBarrier}), which made a step cost a second. Barrier mode is kept
 * for what it guarantees, every partition's task running at once ({@link #possible}); where it
 * cannot have that, or a part would be too large for one message, the per-step jobs stay.
 * Messages are JDK types only (byte arrays and boxed integers): an executor's RPC layer
 * deserializes with the JVM's loader, which does not see the application's classes.
 */
final class RoundingExchange extends AbstractFunction1<scala.collection.Iterator<Shard>, scala.collection.Iterator<RoundingExchange.Fitted>>
    implements Serializable {
  private static final long serialVersionUID = 1L;

  /**
   * Largest gradient part (bytes, serialized sums) times the number of partitions: the driver
   * holds a step's parts until the last is in. A layer beyond this (resnet18's 512x512x3x3
   * convolutions at 2 partitions) runs one job per step, where its own work outweighs a job's
   * cost anyway.
   */
  static final long MAX_EXCHANGE_BYTES = 32L << 20;

  /**
   * The Spark setting that chooses the path: {@code auto} (barrier jobs in local mode where
   * possible, one job per step on a cluster), {@code barrier}
   * (an error where it cannot run), {@code jobs} (one job per step). A local property of the
   * calling thread of the same name overrides the configuration.
   */
  static final String SETTING = "spark.qspark.adaround.exchange";

  /** What a task returns: its partition, the digest of its fit, and the fit itself from partition 0. */
  record Fitted(int partition, long digest, RoundingFit fit) implements Serializable {}

  private final Broadcast<ModelBlob> blob;
  private final QuantConfig cfg;
  private final int layer;
  private final long[] offsets;
  private final RoundingFit fit;
  /** The name of the driver's {@link Merger} for this layer. */
  private final String endpoint;

  private RoundingExchange(Broadcast<ModelBlob> blob, QuantConfig cfg, int layer, long[] offsets, RoundingFit fit,
      String endpoint) {
    this.endpoint = endpoint;
    this.blob = blob;
    this.cfg = cfg;
    this.layer = layer;
    this.offsets = offsets;
    this.fit = fit;
  }

  /** Runs the fit's steps as one barrier job over the shards; returns the fitted copy. */
  static RoundingFit run(JavaRDD<Shard> shards, Broadcast<ModelBlob> blob, QuantConfig cfg, int layer, long[] offsets,
      RoundingFit fit) {
    RpcEnv env = SparkEnv.get().rpcEnv();
    String name = "qspark-adaround-" + UUID.randomUUID();
    RpcEndpointRef ref = env.setupEndpoint(name, new Merger(env, shards.getNumPartitions(), fit.gradientSize()));
    List<Fitted> all;
    try {
      RDD<Fitted> job = shards.rdd().barrier().mapPartitions(new RoundingExchange(blob, cfg, layer, offsets, fit, name),
          false, ClassTag$.MODULE$.apply(Fitted.class));
      // through a shuffle: the barrier stage is then a shuffle map stage, which Spark runs again,
      // all of its tasks, when one fails (a lost executor); a failed barrier result stage it
      // aborts ("Could not recover from a failed barrier ResultStage", StandaloneClusterIT)
      all = job.toJavaRDD().repartition(1).collect();
    } finally {
      env.stop(ref);
    }
    RoundingFit first = null;
    for (Fitted f : all) {
      if (f.fit() != null) first = f.fit();
    }
    if (first == null) throw new IllegalStateException("AdaRound's barrier job returned no fit for layer " + layer);
    for (Fitted f : all) {
      if (f.digest() != first.digest()) {
        throw new IllegalStateException("AdaRound's tasks ended with different rounding for layer " + layer
            + " (partition " + f.partition() + "): executors computing differently (different CPUs or JVMs?)");
      }
    }
    return first;
  }

  @Override
  public scala.collection.Iterator<Fitted> apply(scala.collection.Iterator<Shard> it) {
    TaskContext ctx = TaskContext.get();
    RpcEndpointRef merger = RpcUtils.makeDriverRef(endpoint, SparkEnv.get().conf(), SparkEnv.get().rpcEnv());
    Shard s = it.hasNext() ? it.next() : null;
    RoundingFit f = fit;
    int p = ctx.partitionId(), attempt = ctx.stageAttemptNumber();
    int size = f.gradientSize();
    while (f.done() < f.steps()) {
      ExactGradient mine = s == null ? new ExactGradient(size)
          : s.exactGradient(AdaQuantJob.context(blob.value(), cfg), layer, f.soft(), offsets[s.partition()], f.order(),
              f.window(), f.count());
      Object[] part = {attempt, f.done(), p, encode(mine)};
      CompletableFuture<byte[]> answer = FutureConverters.asJava(
          merger.<byte[]>ask(part, WAIT, ClassTag$.MODULE$.apply(byte[].class))).toCompletableFuture();
      f.step(decode(await(answer, ctx)));
    }
    Fitted out = new Fitted(p, f.digest(), p == 0 ? f : null);
    return CollectionConverters.asScala(List.of(out).iterator());
  }

  /** How long a task waits for its peers' parts at most (it stops sooner when Spark kills it). */
  private static final RpcTimeout WAIT = new RpcTimeout(FiniteDuration.apply(1, TimeUnit.DAYS), SETTING + ".timeout");

  /** Waits for the merged total, checking every 50 ms whether Spark killed the task (a peer failed: the stage is retried). */
  private static byte[] await(CompletableFuture<byte[]> answer, TaskContext ctx) {
    while (true) {
      try {
        return answer.get(50, TimeUnit.MILLISECONDS);
      } catch (TimeoutException e) {
        ctx.killTaskIfInterrupted();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        ctx.killTaskIfInterrupted();
        throw new IllegalStateException("AdaRound's exchange interrupted", e);
      } catch (ExecutionException e) {
        throw new IllegalStateException("AdaRound's exchange failed: " + e.getCause().getMessage(), e.getCause());
      }
    }
  }

  /**
   * The driver's side of one layer's exchange: collects each step's parts, one per partition,
   * and once all are in answers every task with their exact total. Parts are keyed by the stage
   * attempt: when Spark retries the stage after a lost task, the earlier attempt's waiting parts
   * are failed and dropped, and the new attempt starts from step 0 as the first did.
   */
  static final class Merger implements ThreadSafeRpcEndpoint {
    private final RpcEnv env;
    private final int partitions;
    private final int size;
    private int attempt = -1;
    private final Map<Integer, byte[][]> parts = new HashMap<>();
    private final Map<Integer, RpcCallContext[]> waiting = new HashMap<>();

    Merger(RpcEnv env, int partitions, int size) {
      this.env = env;
      this.partitions = partitions;
      this.size = size;
    }

    @Override
    public RpcEnv rpcEnv() {
      return env;
    }

    @Override
    public PartialFunction<Object, BoxedUnit> receiveAndReply(RpcCallContext context) {
      return new AbstractPartialFunction<>() {
        @Override
        public boolean isDefinedAt(Object x) {
          return x instanceof Object[] a && a.length == 4;
        }

        @Override
        public <A1, B1> B1 applyOrElse(A1 x, scala.Function1<A1, B1> otherwise) {
          if (!isDefinedAt(x)) return otherwise.apply(x);
          Object[] a = (Object[]) x;
          receive((Integer) a[0], (Integer) a[1], (Integer) a[2], (byte[]) a[3], context);
          @SuppressWarnings("unchecked")
          B1 unit = (B1) BoxedUnit.UNIT;
          return unit;
        }
      };
    }

    private void receive(int att, int step, int partition, byte[] part, RpcCallContext context) {
      if (att < attempt) {
        context.sendFailure(new IllegalStateException("stage attempt " + att + " was superseded by " + attempt));
        return;
      }
      if (att > attempt) {
        for (RpcCallContext[] cs : waiting.values()) {
          for (RpcCallContext c : cs) {
            if (c != null) c.sendFailure(new IllegalStateException("stage attempt " + attempt + " superseded by " + att));
          }
        }
        parts.clear();
        waiting.clear();
        attempt = att;
      }
      byte[][] ps = parts.computeIfAbsent(step, k -> new byte[partitions][]);
      RpcCallContext[] cs = waiting.computeIfAbsent(step, k -> new RpcCallContext[partitions]);
      ps[partition] = part;
      cs[partition] = context;
      for (byte[] b : ps) {
        if (b == null) return;
      }
      ExactGradient total = new ExactGradient(size);
      for (byte[] b : ps) total.merge(decode(b));
      byte[] answer = encode(total);
      for (RpcCallContext c : cs) c.reply(answer);
      parts.remove(step);
      waiting.remove(step);
    }
  }

  static byte[] encode(ExactGradient g) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream o = new ObjectOutputStream(bytes)) {
      o.writeObject(g);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  static ExactGradient decode(byte[] b) {
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(b))) {
      return (ExactGradient) in.readObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Whether a layer of {@code gradientSize} values can be fitted in one barrier job over the
   * shards: the setting allows it (on a cluster only when asked for), in local mode every
   * partition can have a task slot at once (Spark would otherwise fail the job after retrying
   * for minutes), no dynamic allocation, every RDD of the stage has the shards' number of
   * partitions (barrier mode refuses a coalesce inside the stage), and a step's parts fit
   * {@link #MAX_EXCHANGE_BYTES}.
   */
  static boolean possible(JavaRDD<Shard> shards, int gradientSize) {
    SparkContext sc = shards.context();
    String local = sc.getLocalProperty(SETTING);
    String mode = local != null ? local : sc.getConf().get(SETTING, "auto");
    switch (mode) {
      case "jobs":
        return false;
      case "auto":
        // measured faster in local mode only (BENCHMARKS.md); on a standalone cluster each barrier
        // job was seen to wait for Spark's next resource-offer round (up to
        // spark.scheduler.revive.interval, 1 s) before it starts, which a short layer may not win
        // back: there, barrier jobs are asked for with "barrier"
        if (!sc.isLocal()) return false;
        break;
      case "barrier":
        break;
      default:
        throw new IllegalArgumentException(SETTING + " must be auto, barrier or jobs, not '" + mode + "'");
    }
    int parts = shards.getNumPartitions();
    String why = null;
    // a part is two longs per value (GridSum); the driver holds every partition's part of a step
    long bytes = 16L * gradientSize * parts;
    if (sc.getConf().getBoolean("spark.dynamicAllocation.enabled", false)) why = "dynamic allocation is on";
    else if (bytes > MAX_EXCHANGE_BYTES) why = "its gradient parts would be " + (bytes >> 20) + " MiB per exchange";
    // in local mode the slots are fixed; a cluster's come and go (a lost executor is replaced),
    // and Spark itself waits for enough of them before it starts a barrier stage
    else if (sc.isLocal() && slots(sc) < parts) why = parts + " partitions but " + slots(sc) + " task slots";
    else if (!samePartitions(shards.rdd(), parts)) why = "a stage of its lineage changes the number of partitions";
    if (why != null && mode.equals("barrier")) {
      throw new IllegalArgumentException(SETTING + "=barrier, but a barrier job cannot run: " + why);
    }
    return why == null;
  }

  private static int slots(SparkContext sc) {
    ResourceProfile rp = sc.resourceProfileManager().defaultResourceProfile();
    return sc.maxNumConcurrentTasks(rp);
  }

  /** Spark's own rule for a barrier stage (DAGScheduler: every RDD of the stage has the stage's number of partitions). */
  private static boolean samePartitions(RDD<?> rdd, int parts) {
    Deque<RDD<?>> todo = new ArrayDeque<>(List.of(rdd));
    List<RDD<?>> seen = new ArrayList<>();
    while (!todo.isEmpty()) {
      RDD<?> r = todo.pop();
      if (seen.contains(r)) continue;
      seen.add(r);
      if (r.getNumPartitions() != parts) return false;
      for (Dependency<?> d : CollectionConverters.asJava(r.dependencies())) {
        if (d instanceof NarrowDependency<?>) todo.push(d.rdd());
      }
    }
    return true;
  }
}
