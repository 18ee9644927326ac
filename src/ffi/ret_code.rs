//! `ret_code_e` (= `result_code_e`): every error code of the document's section 四, with its
//! exact value (the one table: build.rs generates the reverse, `from_code`, from it), and the
//! one mapping from the core's [`ErrorCode`] to it.
#![allow(non_camel_case_types)]

use conference_session::ErrorCode;

/// Return value of every API function and `result` of `on_conference_state`.
/// Descriptions are the vendor document's.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ret_code_e {
    /// 成功
    retCode_Success = 0,
    /// 失败
    retCode_False = 1,
    /// 参数错误
    retCode_ParamErr = 2,
    /// 初始化错误
    retCode_InitErr = 3,
    /// 已经初始化
    retCode_InitedErr = 4,
    /// 反初始化错误
    retCode_UninitErr = 5,
    /// SOCK 错误或者异常
    retCode_SockErr = 6,
    /// IP 地址错误
    retCode_AddrErr = 7,
    /// 端口错误
    retCode_PortErr = 8,
    /// 创建 SOCK 错误
    retCode_CreateSockErr = 9,
    /// 绑定 SOCK 错误
    retCode_SockBindErr = 10,
    /// 连接 SOCK 错误
    retCode_SockCnntErr = 11,
    /// 监听 SOCK 错误
    retCode_SockListenErr = 12,
    /// 接收 SOCK 连接错误
    retCode_SockAcceptErr = 13,
    /// sock 发送数据错误
    retCode_SockSendErr = 14,
    /// sock 接收数据错误
    retCode_SockRecvErr = 15,
    /// 空间或大小不够
    retCode_SizeNotEnough = 16,
    /// 空间或大小足够了
    retCode_SizeEnough = 17,
    /// 指令错误
    retCode_MsgErr = 18,
    /// Curl 库错误
    retCode_CurlErr = 19,
    /// CURL 库初始化失败
    retCode_CurlInitErr = 20,
    /// CURL 库发送失败
    retCode_CurlSendErr = 21,
    /// CURL 库接收失败
    retCode_CurlRecvErr = 22,
    /// 文件错误或异常
    retCode_FileErr = 23,
    /// 文件已存在
    retCode_FileExistErr = 24,
    /// 文件不存在
    retCode_FileNotExistErr = 25,
    /// 文件已经打开
    retCode_FileHaveOpen = 26,
    /// 创建文件错误
    retCode_FileCreateErr = 27,
    /// 打开文件错误
    retCode_FileOpenErr = 28,
    /// 读文件错误
    retCode_FileReadErr = 29,
    /// 读到文件结尾
    retCode_FileReadEnd = 30,
    /// 写文件错误
    retCode_FileWriteErr = 31,
    /// 文件 seek 错误
    retCode_FileSeekErr = 32,
    /// 关闭文件错误
    retCode_FileCloseErr = 33,
    /// 复制文件错误
    retCode_FileCopyErr = 34,
    /// 剪切文件错误
    retCode_FileCutErr = 35,
    /// 文件格式错误
    retCode_FileFormatErr = 36,
    /// 操作或对象重复
    retCode_FileSameErr = 37,
    /// 文件无法访问
    retCode_FileAccessErr = 38,
    /// 大小尺寸不对
    retCode_FileSizeErr = 39,
    /// 查找失败
    retCode_FileFindErr = 40,
    /// 删除文件错误
    retCode_FileRemoveErr = 41,
    /// 目录错误或异常
    retCode_DirErr = 42,
    /// 目录已存在
    retCode_DirExistErr = 43,
    /// 目录不存在
    retCode_DirNotexistErr = 44,
    /// 创建目录错误
    retCode_DirCreateErr = 45,
    /// 打开目录错误
    retCode_DirOpenErr = 46,
    /// 关闭目录错误
    retCode_DirCloseErr = 47,
    /// 复制目录错误
    retCode_DirCopyErr = 48,
    /// 剪切目录错误
    retCode_DirCutErr = 49,
    /// 查找目录错误
    retCode_DirFindErr = 50,
    /// 目录重名
    retCode_DirSameErr = 51,
    /// 目录无法访问
    retCode_DirAccessErr = 52,
    /// 删除目录错误
    retCode_DirRemoveErr = 53,
    /// 内存错误或异常
    retCode_MemoryErr = 54,
    /// 内存分配错误
    retCode_MemoryAllocErr = 55,
    /// 内存释放错误
    retCode_MemoryFreeErr = 56,
    /// 内存大小不够
    retCode_MemoryOutErr = 57,
    /// 流错误(文件流、数据流等)
    retCode_StreamErr = 58,
    /// 不存在这个流
    retCode_StreamNotErr = 59,
    /// 已存在这个流
    retCode_StreamExistErr = 60,
    /// 列表错误
    retCode_ListErr = 61,
    /// 队列错误
    retCode_QueueErr = 62,
    /// 队列中节点错误
    retCode_QueueNodeErr = 63,
    /// 队列空
    retCode_QueueEmptyErr = 64,
    /// 队列满
    retCode_QueueFullErr = 65,
    /// 查找节点失败
    retCode_QueueFindErr = 66,
    /// xml 错误
    retCode_XmlErr = 67,
    /// 打开 xml 文件失败
    retCode_XmlOpenErr = 68,
    /// 获取 XML 节点内容失败
    retCode_XmlNodeErr = 69,
    /// 获取 XML 节点属性内容失败
    retCode_XmlAttributeErr = 70,
    /// XML 节点不存在
    retCode_XmlNodeNotExist = 71,
    /// 录制错误
    retCode_RecordErr = 72,
    /// 录制进行中
    retCode_RecordRunErr = 73,
    /// 录制已结束、或者录制未开始
    retCode_RecordNotStart = 74,
    /// 录制停止失败
    retCode_RecordStopErr = 75,
    /// 启动电影模式录制失败
    retCode_RecordDirctErr = 76,
    /// 启动资源模式录制失败
    retCode_RecordResErr = 77,
    /// va 函数调用失败
    retCode_VaCheckErr = 78,
    /// 不支持这种 profile
    retCode_VaProfileErr = 79,
    /// 不支持这种码率控制模式
    retCode_VaRcErr = 80,
    /// 合成模式中，不支持同时编解码
    retCode_VaAdmixing = 81,
    /// 不支持编码
    retCode_EncSupportErr = 82,
    /// 编码失败
    retCode_EncErr = 83,
    /// 编码器初始化失败
    retCode_EncInitedErr = 84,
    /// 找不到编码器
    retCode_EncNotFoundErr = 85,
    /// 编码器未初始化
    retCode_EncUninitErr = 86,
    /// 解析失败
    retCode_ParseErr = 87,
    /// 不支持解码
    retCode_DecSupportErr = 88,
    /// 不支持解码成 yuv420
    retCode_DecSupportYUV420 = 89,
    /// 找不到入口点
    retCode_DecNotFoundEntryPoint = 90,
    /// 解码失败
    retCode_DecFailed = 91,
    /// 操作不被支持
    retCode_OpNotSupport = 92,
    /// 不支持的 YUV 格式
    retCode_YUVFormatErr = 93,
    /// 身份 ID 错误
    retCode_IDEnrityErr = 94,
    /// 超时错误
    retCode_Timeout = 95,
    /// 找不到对象
    retCode_NotObjectErr = 96,
    /// 对象不支持此功能
    retCode_ObjectSupportErr = 97,
    /// 数据错误(非法数据)
    retCode_DataErr = 98,
    /// zlib 库错误
    retCode_ZlibErr = 99,
    /// 没有登陆
    retCode_NotLoginErr = 100,
    /// 不能重复登陆了
    retCode_ReloginedErr = 101,
    /// 状态不对
    retCode_StateErr = 102,
    /// 线程错误
    retCode_ThreadErr = 103,
    /// 远摇摄像头失败
    retCode_CamCtrlErr = 104,
    /// 拒绝访问
    retCode_AccessErr = 105,
    /// 用户名或密码错误
    retCode_UserPasswordErr = 106,
    /// 未设置登陆信息
    retCode_NotLoginInfo = 107,
    /// 没有显示器接入
    retCode_NoScreenConnection = 108,
    /// 不支持的分辨率
    retCode_UnSupportResolution = 109,
    /// 不完整的数据
    retCode_UnCompleteData = 110,
    /// 未知错误
    retCode_Unknow = 1000,
    /// 异常错误 (0x1002)
    retCode_Exception = 0x1002,
    /// 服务器内部错误 (0x1003)
    retCode_ServerInterErr = 0x1003,
    /// 无效的会话 (0x1004)
    retCode_NvalidSessionErr = 0x1004,
    /// 找不到用户 (0x1005)
    retCode_NotFindUserErr = 0x1005,
    /// 验证失败 (0x1006)
    retCode_VerifiFailureErr = 0x1006,
    /// 拒绝访问 (0x1007)
    retCode_DenyAccessErr = 0x1007,
    /// 参数错误 (0x1008)
    retCode_InvalidParam = 0x1008,
    /// 系统正在维护 (0x1009)
    retCode_SytemMantainErr = 0x1009,
    /// 访问人数过多 (0x100a)
    retCode_MuchVisitedErr = 0x100a,
    /// 文件未找到 (0x100b)
    retCode_NotFindFileErr = 0x100b,
    /// 文件列表未找到 (0x100c)
    retCode_NotFindFileListErr = 0x100c,
    /// 文件列表已存在 (0x100d)
    retCode_FileListExist = 0x100d,
    /// 文件传输通道不存在 (0x100e)
    retCode_FileTransChnUnexist = 0x100e,
    /// 文件正在上传中 (0x100f)
    retCode_FileUploading = 0x100f,
    /// 文件大小超过限定值 (0x1010)
    retCode_FileTooLarge = 0x1010,
    /// 发送者还未上传该文件 (0x10011)
    retCode_SenderDidnotUpload = 0x10011,
    /// 文件已存在 (0x10012)
    retCode_FileExist = 0x10012,
    /// 用户名或密码错误 (0x10013)
    retCode_NanmeOrPasswordErr = 0x10013,
    /// 房间未找到 (0x10014)
    retCode_RoomUnexist = 0x10014,
    /// 房间已满 (0x10015)
    retCode_RoomFull = 0x10015,
    /// 应用类型不匹配 (0x10016)
    retCode_ApplicationTypeMismatch = 0x10016,
    /// 服务器不匹配 (0x10017)
    retCode_ServerMismatch = 0x10017,
    /// 未找到指定的服务器 (0x10018)
    retCode_SpecifiedServerNotFound = 0x10018,
    /// 服务器已满员 (0x10019)
    retCode_ServerFull = 0x10019,
    /// 用户已存在 (0x1001a)
    retCode_UserExist = 0x1001a,
    /// 需要输入房间密码 (0x1001b)
    retCode_NeedRoomPassword = 0x1001b,
    /// 房间已锁定 (0x1001c)
    retCode_RoomLock = 0x1001c,
    /// 房间已过期 (0x1001d)
    retCode_RoomOverdue = 0x1001d,
    /// 房间已关闭 (0x1001e)
    retCode_RoomClosed = 0x1001e,
    /// 主持人拒绝用户进入 (0x1001f)
    retCode_ModeratorRefusesJoin = 0x1001f,
    /// 用户被列入黑名单 (0x10020)
    retCode_UserAreBlackListed = 0x10020,
    /// 服务器级联失败 (0x10021)
    retCode_ServerCascadeFailure = 0x10021,
    /// 服务器未启动 (0x10022)
    retCode_ServerNotBoot = 0x10022,
    /// 服务器已停止 (0x10023)
    retCode_ServerStoped = 0x10023,
    /// 余额不足 (0x10024)
    retCode_LackOfBalance = 0x10024,
    /// 服务已停用 (0x10025)
    retCode_ServiceDiscontinuation = 0x10025,
    /// 主席密码错误 (0x10026)
    retCode_ChairPasswordErr = 0x10026,
    /// 互动课堂不存在 (0x10027)
    retCode_InteractiveClassroomUnexist = 0x10027,
    /// 拒绝访问 (0x10028)
    retCode_AccessDenied = 0x10028,
    /// 踢出房间 (0x10029)
    retCode_KickOut = 0x10029,
    /// 用户异常 (0x1002a)
    retCode_UserClose = 0x1002a,
    /// 流类型不匹配 (0x1002b)
    retCode_StreamTypeMismatch = 0x1002b,
    /// 超出最大预览数 (0x1002c)
    retCode_ExceedMaxPreview = 0x1002c,
    /// 资源不足 (0x1002d)
    retCode_OutOfResources = 0x1002d,
    /// 网络异常 (0x1002e)
    retCode_NetworkException = 0x1002e,
    /// 空闲/未注册 (0x1002f)
    retCode_RegisterIdle = 0x1002f,
    /// 注册中 (0x10030)
    retCode_Registering = 0x10030,
    /// 已注册 (0x10031)
    retCode_Registered = 0x10031,
    /// 已注销 (0x10032)
    retCode_DeRegistered = 0x10032,
    /// 注册失败 (0x10033)
    retCode_RegisterFailed = 0x10033,
    /// 网络错误 (0x10034)
    retCode_ErrorNetwork = 0x10034,
    /// 认证失败 (0x10035)
    retCode_ErrorAuthFailed = 0x10035,
    /// 用户忙 (0x10036)
    retCode_UserBusy = 0x10036,
    /// 长时间无应答 (0x10037)
    retCode_LongTimeNoReSponse = 0x10037,
    /// 登录失败 (0x10038)
    retCode_LoginFailed = 0x10038,
}

/// The document's name for `ret_code_e` as the result of an event.
pub type result_code_e = ret_code_e;

impl ret_code_e {
    /// The code with the vendor number `code`; numbers the document does not define become
    /// `retCode_Unknow` (a Rust enum never holds an undefined value). The match is generated
    /// by build.rs from the declaration above: the table is written once.
    pub const fn from_code(code: u32) -> ret_code_e {
        include!(concat!(env!("OUT_DIR"), "/ret_code_from_code.rs"))
    }
}

impl From<Result<(), ErrorCode>> for ret_code_e {
    /// The outcome of an operation (an event's `result`) as the C number.
    fn from(result: Result<(), ErrorCode>) -> Self {
        match result {
            Ok(()) => ret_code_e::retCode_Success,
            Err(err) => ret_code_e::from(err),
        }
    }
}

impl From<ErrorCode> for ret_code_e {
    /// An error never reads as success: `Other(0)` becomes `retCode_Unknow`.
    fn from(err: ErrorCode) -> Self {
        match err.code() {
            0 => ret_code_e::retCode_Unknow,
            code => ret_code_e::from_code(code),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vendor_number_round_trips_and_the_rest_is_unknow() {
        let defined = (0..=110)
            .chain([1000])
            .chain(0x1002..=0x1010)
            .chain(0x10011..=0x10038);
        let mut count = 0;
        for code in defined {
            assert_eq!(ret_code_e::from_code(code) as u32, code, "code {code:#x}");
            count += 1;
        }
        assert_eq!(count, 167);
        for code in [111, 999, 1001, 0x1001, 0x1011, 0x10010, 0x10039, u32::MAX] {
            assert_eq!(ret_code_e::from_code(code), ret_code_e::retCode_Unknow);
        }
    }

    #[test]
    fn core_errors_keep_their_number() {
        assert_eq!(
            ret_code_e::from(ErrorCode::NotLoginErr),
            ret_code_e::retCode_NotLoginErr
        );
        assert_eq!(ret_code_e::from(ErrorCode::RoomUnexist) as u32, 0x10014);
        assert_eq!(ret_code_e::from(ErrorCode::Exception) as u32, 0x1002);
        assert_eq!(
            ret_code_e::from(ErrorCode::Other(0x10038)),
            ret_code_e::retCode_LoginFailed
        );
        assert_eq!(
            ret_code_e::from(ErrorCode::Other(7777)),
            ret_code_e::retCode_Unknow
        );
        // 0 is success, never an error: an `Other(0)` must still read as a failure.
        assert_eq!(
            ret_code_e::from(ErrorCode::Other(0)),
            ret_code_e::retCode_Unknow
        );
    }
}
