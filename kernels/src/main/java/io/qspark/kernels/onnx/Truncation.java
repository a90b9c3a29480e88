package io.qspark.kernels.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import io.qspark.kernels.onnx.proto.OnnxProto.ModelProto;
import java.io.IOException;
import java.util.Set;

/**
 * Tells an ONNX file that was cut short from bytes that never were ONNX, after protobuf has
 * refused them; protobuf's own error cannot, since random bytes also often "end unexpectedly".
 * A cut model still starts with ir_version (every ONNX writer emits fields in number order)
 * followed by well-formed ModelProto fields, the last of which runs past the end of the file,
 * or, cut exactly between fields, which end before the graph.
 */
final class Truncation {
  private static final int GRAPH_FIELD = ModelProto.GRAPH_FIELD_NUMBER;
  /** Field 1 (ir_version), wire type varint. */
  private static final int IR_VERSION_TAG = 1 << 3 | WireFormat.WIRETYPE_VARINT;
  /** Above any IR version ONNX has defined (10 in 2024) with room to grow. */
  private static final long MAX_IR_VERSION = 20;
  /** ModelProto fields of full ONNX left out of our onnx.proto: training_info, functions. */
  private static final Set<Integer> OTHER_MESSAGE_FIELDS = Set.of(20, 25);
  /** A tag and a varint take at most 15 bytes: a field failing that close to the end was cut. */
  private static final int MAX_FIELD_HEAD = 15;

  private Truncation() {}

  static boolean looksTruncated(byte[] bytes) {
    CodedInputStream in = CodedInputStream.newInstance(bytes);
    int fieldStart = 0;
    boolean sawGraph = false;
    try {
      if (in.readTag() != IR_VERSION_TAG) return false;
      long ir = in.readInt64();
      if (ir < 1 || ir > MAX_IR_VERSION) return false;
      while (!in.isAtEnd()) {
        fieldStart = in.getTotalBytesRead();
        int tag = in.readTag();
        int field = WireFormat.getTagFieldNumber(tag);
        int wireType = WireFormat.getTagWireType(tag);
        if (wireType != expectedWireType(field)) return false;
        sawGraph |= field == GRAPH_FIELD;
        if (wireType == WireFormat.WIRETYPE_VARINT) {
          in.readInt64();
        } else {
          int len = in.readRawVarint32();
          if (len < 0) return false;
          if (len > bytes.length - in.getTotalBytesRead()) return true;
          in.skipRawBytes(len);
        }
      }
      // a clean top level: cut before the graph, or whole and damaged inside
      return !sawGraph;
    } catch (InvalidProtocolBufferException e) {
      return fieldStart > 0 && bytes.length - fieldStart <= MAX_FIELD_HEAD;
    } catch (IOException e) {
      return false;
    }
  }

  /** The wire type ONNX's ModelProto uses for a field number, -1 for numbers it does not define. */
  private static int expectedWireType(int field) {
    if (OTHER_MESSAGE_FIELDS.contains(field)) return WireFormat.WIRETYPE_LENGTH_DELIMITED;
    FieldDescriptor fd = ModelProto.getDescriptor().findFieldByNumber(field);
    return fd == null ? -1 : fd.getLiteType().getWireType();
  }
}
