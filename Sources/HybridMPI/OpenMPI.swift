import Foundation
import Glibc
import HybridCore

/// Open MPI's C API, opened with dlopen at run time so that the `hybrid` binary starts (and
/// trains on one process) where no MPI is installed. Open MPI's handles are the addresses of
/// its predefined objects (`MPI_COMM_WORLD` is `&ompi_mpi_comm_world`), so they come from
/// dlsym too; MPICH's integer handles are a different ABI, which `open` refuses.
final class OpenMPI {
    typealias Handle = OpaquePointer
    typealias Request = OpaquePointer?

    let commWorld, float, double, byte, sum, errorsReturn: Handle
    /// Open MPI's `MPI_IN_PLACE`.
    static var inPlace: UnsafeRawPointer { UnsafeRawPointer(bitPattern: 1)! }

    let initialized: @convention(c) (UnsafeMutablePointer<Int32>) -> Int32
    let initialize: @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32
    let finalize: @convention(c) () -> Int32
    let abort: @convention(c) (Handle, Int32) -> Int32
    let commRank: @convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32
    let commSize: @convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32
    let setErrorHandler: @convention(c) (Handle, Handle) -> Int32
    let errorString: @convention(c) (Int32, UnsafeMutablePointer<CChar>, UnsafeMutablePointer<Int32>) -> Int32
    let libraryVersion: @convention(c) (UnsafeMutablePointer<CChar>, UnsafeMutablePointer<Int32>) -> Int32
    let iallreduce: @convention(c) (UnsafeRawPointer, UnsafeMutableRawPointer, Int32, Handle, Handle, Handle, UnsafeMutablePointer<Request>) -> Int32
    let ibcast: @convention(c) (UnsafeMutableRawPointer, Int32, Handle, Int32, Handle, UnsafeMutablePointer<Request>) -> Int32
    let iallgather: @convention(c) (UnsafeRawPointer, Int32, Handle, UnsafeMutableRawPointer, Int32, Handle, Handle, UnsafeMutablePointer<Request>) -> Int32
    let test: @convention(c) (UnsafeMutablePointer<Request>, UnsafeMutablePointer<Int32>, UnsafeMutableRawPointer?) -> Int32

    /// The library to open: `HYBRID_MPI_LIBRARY`, else Debian's Open MPI (libopenmpi3).
    static var libraryName: String { ProcessInfo.processInfo.environment["HYBRID_MPI_LIBRARY"] ?? "libmpi.so.40" }

    /// Opens the library. RTLD_GLOBAL because Open MPI's own components, which it dlopens in
    /// turn, resolve their symbols against libmpi.
    init() throws {
        let name = Self.libraryName
        guard let library = dlopen(name, RTLD_NOW | RTLD_GLOBAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown reason"
            throw CommunicatorError("cannot open the MPI library \(name) (\(reason)); install Open MPI (Debian: apt-get install openmpi-bin libopenmpi-dev) or point HYBRID_MPI_LIBRARY at libmpi.so")
        }
        func symbol(_ name: String) throws -> UnsafeMutableRawPointer {
            guard let address = dlsym(library, name) else {
                throw CommunicatorError("\(Self.libraryName) has no symbol \(name): hybrid needs Open MPI 4 or newer (MPICH and others have another ABI)")
            }
            return address
        }
        func function<F>(_ name: String, as _: F.Type) throws -> F { unsafeBitCast(try symbol(name), to: F.self) }
        func handle(_ name: String) throws -> Handle { Handle(try symbol(name)) }
        commWorld = try handle("ompi_mpi_comm_world")
        float = try handle("ompi_mpi_float")
        double = try handle("ompi_mpi_double")
        byte = try handle("ompi_mpi_byte")
        sum = try handle("ompi_mpi_op_sum")
        errorsReturn = try handle("ompi_mpi_errors_return")
        initialized = try function("MPI_Initialized", as: type(of: initialized))
        initialize = try function("MPI_Init", as: type(of: initialize))
        finalize = try function("MPI_Finalize", as: type(of: finalize))
        abort = try function("MPI_Abort", as: type(of: abort))
        commRank = try function("MPI_Comm_rank", as: type(of: commRank))
        commSize = try function("MPI_Comm_size", as: type(of: commSize))
        setErrorHandler = try function("MPI_Comm_set_errhandler", as: type(of: setErrorHandler))
        errorString = try function("MPI_Error_string", as: type(of: errorString))
        libraryVersion = try function("MPI_Get_library_version", as: type(of: libraryVersion))
        iallreduce = try function("MPI_Iallreduce", as: type(of: iallreduce))
        ibcast = try function("MPI_Ibcast", as: type(of: ibcast))
        iallgather = try function("MPI_Iallgather", as: type(of: iallgather))
        test = try function("MPI_Test", as: type(of: test))
    }

    /// MPI's message for an error code.
    func describe(_ code: Int32) -> String {
        var text = [CChar](repeating: 0, count: 512)
        var length: Int32 = 0
        guard errorString(code, &text, &length) == 0 else { return "MPI error \(code)" }
        return String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The first line of MPI_Get_library_version ("Open MPI v4.1.4, …").
    var version: String {
        var text = [CChar](repeating: 0, count: 8192)
        var length: Int32 = 0
        guard libraryVersion(&text, &length) == 0 else { return "unknown" }
        let all = String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return all.split(separator: ",").first.map(String.init) ?? all
    }
}
