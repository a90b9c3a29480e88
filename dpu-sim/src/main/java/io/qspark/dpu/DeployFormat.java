package io.qspark.dpu;

import com.google.protobuf.InvalidProtocolBufferException;
import io.qspark.dpu.proto.DeployProto.DeployModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * Reads and writes deploy_model.pb, refusing anything that is not a complete, intact deploy
 * model of a version this qspark reads: wrong magic, another format_version, truncated bytes,
 * content that does not match its digest, and any field outside its documented range
 * ({@link DeployCheck}), so a model that reads here simulates without surprises.
 *
 * <p>Writers write {@link #VERSION}; readers also take the versions before it in {@link #READS}
 * (version 1 is version 2 without batch_chunk, ELTWISE_MUL and CPU layers' extra outputs, which
 * {@link DeployCheck} refuses in a version-1 model), so folders deployed by an earlier qspark
 * still simulate.
 *
 * <p>The digest ({@code content_sha256}) is the sha256 of the model serialized without it. It is
 * a field of its own rather than a version of its own so that deploy models written before it
 * still read: those are accepted without it, every range still checked.
 */
public final class DeployFormat {
  public static final String MAGIC = "qspark-deploy";
  /**
   * The version written: bumped whenever a field is added with a meaning older readers would
   * miss, or a field changes meaning. Version 2 added batch_chunk, ELTWISE_MUL and extra_outputs.
   */
  public static final int VERSION = 2;
  /** The versions read (each a subset of the next), oldest first; any other is refused. */
  public static final List<Integer> READS = List.of(1, VERSION);
  public static final String FILE = "deploy_model.pb";

  private DeployFormat() {}

  public static DeployModel read(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new DeployException("cannot read deploy model " + file + ": " + e.getMessage(), e);
    }
    return parse(bytes, file.toString());
  }

  public static DeployModel parse(byte[] bytes, String where) {
    DeployModel m;
    try {
      m = DeployModel.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new DeployException(where + " is not a qspark deploy model (corrupt or truncated protobuf: " + e.getMessage() + ")", e);
    }
    if (!MAGIC.equals(m.getMagic())) {
      throw new DeployException(where + " is not a qspark deploy model (magic '" + printable(m.getMagic()) + "')");
    }
    if (!READS.contains(m.getFormatVersion())) {
      throw new DeployException(where + " has deploy format version " + Integer.toUnsignedString(m.getFormatVersion())
          + "; this qspark reads versions " + readable() + " (redeploy the calibration with this qspark)");
    }
    if (sealed(m) && !m.getContentSha256().equals(digest(m))) {
      throw new DeployException(where + " is a corrupt deploy model: its content does not match the sha256 it was written"
          + " with (damaged or edited since deploy; deploy the calibration again)");
    }
    DeployCheck.check(m, where);
    return m;
  }

  /** The model with its content digest set: what deploy writes. */
  public static DeployModel seal(DeployModel m) {
    return m.toBuilder().setContentSha256(digest(m)).build();
  }

  /** Whether the model carries a content digest (models written before it existed do not). */
  public static boolean sealed(DeployModel m) {
    return !m.getContentSha256().isEmpty();
  }

  /** sha256 (hex) of the model serialized without its digest field. */
  static String digest(DeployModel m) {
    try {
      byte[] content = m.toBuilder().clearContentSha256().build().toByteArray();
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JVM has no SHA-256", e);
    }
  }

  /** The versions read, for a message: "1 and 2". */
  static String readable() {
    List<String> v = READS.stream().map(String::valueOf).toList();
    return v.size() == 1 ? v.get(0) : String.join(", ", v.subList(0, v.size() - 1)) + " and " + v.get(v.size() - 1);
  }

  /** A string from the file for a message: at most 40 printable characters. */
  static String printable(String s) {
    String t = s.length() > 40 ? s.substring(0, 40) + "..." : s;
    return t.replaceAll("[^\\x20-\\x7e]", "?");
  }
}
