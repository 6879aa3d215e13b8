using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Cluster.Runtime.Messaging;

namespace Cluster.Runtime.Tests;

public sealed class MessageTests
{
    static readonly GrainInterface Echo = GrainInterface.Of(typeof(IEchoGrain));

    static async Task<IncomingMessage> RoundTrip(OutgoingMessage message, long max = 1 << 30)
    {
        var stream = new MemoryStream();
        await message.WriteToAsync(stream, CancellationToken.None);
        Assert.Equal(message.Length, stream.Length);
        stream.Position = 0;
        return await IncomingMessage.ReadAsync(stream, stream.Length, max, CancellationToken.None);
    }

    [Fact]
    public async Task Binary_arguments_travel_as_raw_segments_not_base64_in_the_json()
    {
        var data = Enumerable.Range(0, 1 << 20).Select(i => (byte)(i * 31)).ToArray();
        var blob = new Blob("b", [9, 8, 7], [3]);
        var call = OutgoingMessage.Call(new GrainId(Echo.Name, "k"), Echo.Methods["Rename"], [blob, "n"]);
        var big = OutgoingMessage.Call(new GrainId(Echo.Name, "k"), Echo.Methods["Reverse"], [data]);

        // The frame is the bytes plus a small header: the payload was not inflated by base64 (4/3).
        Assert.InRange(big.Length, data.Length, data.Length + 512);
        using var incoming = await RoundTrip(big);
        var header = incoming.Header.GetRawText();
        Assert.Contains("\"$segment\":0", header);
        Assert.Equal([data.Length], incoming.Header.GetProperty("seg").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(data, (byte[])incoming.ReadArguments(Echo.Methods["Reverse"])[0]!);

        using var record = await RoundTrip(call);
        var args = record.ReadArguments(Echo.Methods["Rename"]);
        var back = Assert.IsType<Blob>(args[0]);
        Assert.Equal(blob.Data, back.Data);
        Assert.Equal(blob.Shape, back.Shape);
        Assert.Equal("n", args[1]);
    }

    [Fact]
    public async Task A_frame_is_a_length_prefixed_json_header_followed_by_the_segments()
    {
        // Written by hand from the format's description, not by the writer.
        var header = Encoding.UTF8.GetBytes($$"""{"grain":"{{Echo.Name}}","key":"k","method":"Reverse","args":[{"$segment":1}],"seg":[2,3]}""");
        var frame = new byte[4 + header.Length + 5];
        BinaryPrimitives.WriteInt32LittleEndian(frame, header.Length);
        header.CopyTo(frame, 4);
        new byte[] { 1, 2, 10, 20, 30 }.CopyTo(frame, 4 + header.Length);
        using var incoming = await IncomingMessage.ReadAsync(new MemoryStream(frame), frame.Length, 1 << 20, CancellationToken.None);
        Assert.Equal(new byte[] { 10, 20, 30 }, incoming.ReadArguments(Echo.Methods["Reverse"])[0]);
    }

    [Fact]
    public async Task Oversized_and_inconsistent_frames_are_refused_with_a_reason()
    {
        var call = OutgoingMessage.Call(new GrainId(Echo.Name, "k"), Echo.Methods["Reverse"], [new byte[5000]]);
        var tooLarge = await Assert.ThrowsAsync<MessageTooLargeException>(() => RoundTrip(call, max: 1000));
        Assert.Contains("exceeds the limit of 1000 bytes", tooLarge.Message);

        var stream = new MemoryStream();
        await call.WriteToAsync(stream, CancellationToken.None);
        stream.Position = 0;
        var lying = await Assert.ThrowsAsync<MessageFormatException>(() => IncomingMessage.ReadAsync(stream, stream.Length + 7, 1 << 20, CancellationToken.None));
        Assert.Contains("frame describes", lying.Message);

        var badIndex = Encoding.UTF8.GetBytes($$"""{"args":[{"$segment":3}],"seg":[]}""");
        var frame = new byte[4 + badIndex.Length];
        BinaryPrimitives.WriteInt32LittleEndian(frame, badIndex.Length);
        badIndex.CopyTo(frame, 4);
        using var incoming = await IncomingMessage.ReadAsync(new MemoryStream(frame), frame.Length, 1 << 20, CancellationToken.None);
        var e = Assert.Throws<MessageFormatException>(() => incoming.ReadArguments(Echo.Methods["Reverse"]));
        Assert.Contains("segment 3 does not exist", e.Message);
    }

    [Fact]
    public void Outside_a_message_bytes_fall_back_to_base64()
    {
        var json = JsonSerializer.Serialize(new Blob("x", [1, 2, 3], []), ClusterJson.Options);
        Assert.Contains("\"AQID\"", json);
        Assert.Equal(new byte[] { 1, 2, 3 }, JsonSerializer.Deserialize<Blob>(json, ClusterJson.Options)!.Data);
    }

    public interface IOverloaded : IGrainWithStringKey
    {
        Task A(int x);
        Task A(string x);
    }

    public interface ISyncReturn : IGrainWithStringKey
    {
        int NotATask();
    }

    public interface IMisplacedToken : IGrainWithStringKey
    {
        Task Run(CancellationToken token, int x);
    }

    [Fact]
    public void Interfaces_that_cannot_travel_are_rejected_with_the_reason()
    {
        Assert.Contains("overloaded", Assert.Throws<GrainInterfaceException>(() => GrainInterface.Of(typeof(IOverloaded))).Message);
        Assert.Contains("returns Int32", Assert.Throws<GrainInterfaceException>(() => GrainInterface.Of(typeof(ISyncReturn))).Message);
        Assert.Contains("must come last", Assert.Throws<GrainInterfaceException>(() => GrainInterface.Of(typeof(IMisplacedToken))).Message);
        Assert.Contains("not a grain interface", Assert.Throws<GrainInterfaceException>(() => GrainInterface.Of(typeof(IDisposable))).Message);
    }

    [Fact]
    public void Remote_exceptions_are_recreated_by_type_or_kept_as_RemoteGrainException()
    {
        Assert.IsType<InvalidOperationException>(ClusterErrors.Recreate(typeof(InvalidOperationException).FullName, "m"));
        var argNull = Assert.IsType<ArgumentNullException>(ClusterErrors.Recreate(typeof(ArgumentNullException).FullName, "the message"));
        Assert.Equal("the message", argNull.Message);
        var unknown = Assert.IsType<RemoteGrainException>(ClusterErrors.Recreate("Some.Remote.OnlyException", "why"));
        Assert.Equal("Some.Remote.OnlyException", unknown.RemoteType);
        Assert.Contains("why", unknown.Message);
    }
}
