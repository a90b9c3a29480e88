package io.qspark.job.data;

import com.google.protobuf.InvalidProtocolBufferException;
import io.qspark.job.base.UserError;
import io.qspark.job.model.ModelBlob;
import io.qspark.kernels.caffe.CaffeImporter;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.onnx.OnnxImporter;
import io.qspark.kernels.onnx.SelfContained;
import io.qspark.kernels.onnx.proto.OnnxProto.AttributeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.ModelProto;
import io.qspark.kernels.onnx.proto.OnnxProto.NodeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.StringStringEntryProto;
import io.qspark.kernels.onnx.proto.OnnxProto.TensorProto;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * A float model file on any Hadoop file system, read on the driver: an ONNX file (with its
 * external tensor files from the same folder) or a Caffe deploy .prototxt with its weights. A
 * path without a scheme is on the default file system, as data paths are; on the local disk the
 * kernels read it directly, elsewhere its bytes come through Hadoop and the model is imported
 * from them (external tensors from a private local copy of just the files it names, under the
 * same rules: relative paths inside the model's folder only).
 */
public final class ModelFiles {
  private ModelFiles() {}

  /** A model as the driver uses it (imported, constants folded) and as executors receive it. */
  public record Loaded(Model model, ModelBlob blob, String fileName) {}

  /** Whether {@code location} names a folder (a calibration folder) rather than a model file. */
  public static boolean isFolder(String location) {
    Configuration conf = HadoopFiles.driverConfiguration();
    Path p = HadoopFiles.qualified(location, conf);
    try {
      return HadoopFiles.fileSystem(p, conf).getFileStatus(p).isDirectory();
    } catch (FileNotFoundException e) {
      return false;
    } catch (IOException e) {
      throw new UserError("cannot read " + HadoopFiles.display(p) + ": " + e.getMessage(), e);
    }
  }

  /**
   * @param weights a Caffe model's .caffemodel, or null: the one of the same name beside the prototxt
   */
  public static Loaded load(String location, String weights) {
    boolean caffe = location.endsWith(".prototxt");
    if (weights != null && !caffe) throw new UserError("--weights is for a Caffe --model (a .prototxt)");
    java.nio.file.Path local = local(location);
    String weightsLocation = weights != null ? weights : caffe ? weightsBeside(location) : null;
    java.nio.file.Path localWeights = weightsLocation == null ? null : local(weightsLocation);
    if (local != null && (!caffe || localWeights != null)) {
      String name = local.getFileName() == null ? location : local.getFileName().toString();
      if (caffe) return new Loaded(Model.loadCaffe(local, localWeights), ModelBlob.ofCaffe(local, localWeights), name);
      return new Loaded(Model.load(local), ModelBlob.of(local), name);
    }
    Configuration conf = HadoopFiles.driverConfiguration();
    Path file = HadoopFiles.qualified(location, conf);
    String shown = HadoopFiles.display(file);
    byte[] bytes = read(file, conf, "model file");
    if (caffe) {
      Path wfile = HadoopFiles.qualified(weightsLocation, conf);
      byte[] w = read(wfile, conf, "caffemodel file");
      CaffeImporter.Imported imp = CaffeImporter.parse(new String(bytes, StandardCharsets.UTF_8), w, shown,
          HadoopFiles.display(wfile), null);
      Model m = Model.prepare(imp.graph(), shown, sha256(bytes, w), "caffe");
      return new Loaded(m, ModelBlob.of(shown, CaffeImporter.onnxBytes(imp)), file.getName());
    }
    Set<String> external = externalFiles(bytes);
    if (external.isEmpty()) {
      OnnxImporter.Imported imp = OnnxImporter.parse(bytes, null, shown);
      Model m = Model.prepare(imp.graph(), shown, ModelBlob.sha256(bytes), "onnx opset " + imp.opset());
      return new Loaded(m, ModelBlob.of(shown, bytes), file.getName());
    }
    // external tensors: the files the model names, copied beside a copy of it (and nothing else)
    java.nio.file.Path dir = null;
    try {
      dir = Files.createTempDirectory("qspark-model-");
      java.nio.file.Path copy = dir.resolve("model.onnx");
      Files.write(copy, bytes);
      for (String loc : external) {
        // a path the importer refuses (absolute, with '..') is not fetched: its message says why
        java.nio.file.Path target;
        try {
          target = dir.resolve(loc).normalize();
        } catch (java.nio.file.InvalidPathException e) {
          continue;
        }
        if (loc.startsWith("/") || loc.startsWith("\\") || java.util.Arrays.asList(loc.split("[/\\\\]")).contains("..")
            || !target.startsWith(dir)) {
          continue;
        }
        Files.createDirectories(target.getParent());
        Files.write(target, read(new Path(file.getParent(), loc), conf, "external data file"));
      }
      OnnxImporter.Imported imp = OnnxImporter.parse(bytes, dir, shown);
      Model m = Model.prepare(imp.graph(), shown, ModelBlob.sha256(bytes), "onnx opset " + imp.opset());
      return new Loaded(m, ModelBlob.of(shown, SelfContained.bytes(copy)), file.getName());
    } catch (IOException e) {
      throw new UserError("cannot stage the external data of " + shown + ": " + e.getMessage(), e);
    } finally {
      if (dir != null) delete(dir);
    }
  }

  /** The local file a location names, or null when it is on another file system. */
  private static java.nio.file.Path local(String location) {
    if (location.startsWith("file:")) return java.nio.file.Path.of(java.net.URI.create(location.replace(" ", "%20")));
    boolean scheme = location.matches("^[A-Za-z][A-Za-z0-9+.-]*:.*") && !location.matches("^[A-Za-z]:[\\\\/].*");
    if (scheme) return null;
    Configuration conf = HadoopFiles.driverConfiguration();
    String defaultFs = conf.get("fs.defaultFS", "file:///");
    return defaultFs.startsWith("file:") ? java.nio.file.Path.of(location) : null;
  }

  /** The weights a Caffe model reads: {@code weights} if given, else the .caffemodel beside it; null for an ONNX model. */
  public static String weightsOf(String location, String weights) {
    return weights != null ? weights : location.endsWith(".prototxt") ? weightsBeside(location) : null;
  }

  /** Caffe's convention: deploy.prototxt's weights are the .caffemodel of the same base name beside it. */
  private static String weightsBeside(String prototxt) {
    return prototxt.substring(0, prototxt.length() - ".prototxt".length()) + ".caffemodel";
  }

  private static byte[] read(Path p, Configuration conf, String what) {
    try {
      return HadoopFiles.readAll(p, conf);
    } catch (FileNotFoundException e) {
      throw new GraphException(what + " not found: " + HadoopFiles.display(p)
          + (what.startsWith("caffemodel") ? " (give the weights with --weights)" : ""));
    } catch (IOException e) {
      throw new GraphException("cannot read " + what + " " + HadoopFiles.display(p) + ": " + e.getMessage());
    }
  }

  /** The external data files an ONNX model names (none for a file that does not parse: the importer reports that). */
  private static Set<String> externalFiles(byte[] bytes) {
    Set<String> r = new LinkedHashSet<>();
    ModelProto m;
    try {
      m = ModelProto.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      return r;
    }
    for (TensorProto t : m.getGraph().getInitializerList()) add(t, r);
    for (NodeProto n : m.getGraph().getNodeList()) {
      for (AttributeProto a : n.getAttributeList()) if (a.hasT()) add(a.getT(), r);
    }
    return r;
  }

  private static void add(TensorProto t, Set<String> r) {
    if (t.getDataLocation() != TensorProto.DataLocation.EXTERNAL) return;
    for (StringStringEntryProto e : t.getExternalDataList()) if (e.getKey().equals("location")) r.add(e.getValue());
  }

  private static String sha256(byte[] a, byte[] b) {
    try {
      java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
      md.update(a);
      md.update(b);
      return java.util.HexFormat.of().formatHex(md.digest());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void delete(java.nio.file.Path dir) {
    try (Stream<java.nio.file.Path> all = Files.walk(dir)) {
      all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException | UncheckedIOException e) {
      // a temporary copy left behind
    }
  }
}
